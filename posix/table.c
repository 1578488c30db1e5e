/* The POSIX backend's table shape (labelencode): the same pool of fork()ed workers and
 * the same messages as the other shapes (posix.h), always static (worker w owns part w of
 * the records, tvp_table_parts).
 *
 * The parent cuts job->text into parts before the fork, so every worker inherits the
 * whole input (and the parts) by fork(): that is how the input is "mapped" into the
 * workers.  With data=scatter ipc=pipe the parent instead sends each worker its part's
 * bytes in every run's distribute phase, into a private buffer the worker allocated and
 * touched after the fork (the part is then own[0, len), its first line as before).
 *
 * A run is a sequence of lockstep rounds: a command to every worker, then every reply,
 * read as it comes (poll(), and every payload read a piece at a time, as much as the pipe
 * holds), so that no worker blocks on a full pipe while the parent waits for another and
 * a worker that dies is seen whichever it is:
 *
 *   RUN      startup: the worker forgets the last run (tvp_lenc_worker_reset)
 *   INPUT    distribute.  scatter+pipe: the command carries the part's bytes
 *   FIT      compute, 1: parse and fit (tvp_table_fit).  The reply carries the part's
 *            error (struct tvp_table_error, err 0 when none) and, FIT without error, its
 *            local sets (tvp_lenc_pack_sets), unpacked by the parent as they arrive
 *   FINISH   compute, 2: the parent picked the earliest error of the FIT replies
 *            (tvp_table_error_pick) and, when there is one, the run ends there: it goes to
 *            *job->error and the hook returns its code.  No command is pending then, so
 *            the workers simply wait for the next one (RUN, or EXIT from stop) and the pool
 *            stays in protocol.  Otherwise (FIT) the parent merges the sets
 *            (tvp_table_merge: job->classes and each worker's map) and sends each worker
 *            its map with FINISH (TRANSFORM, INVERSE: no map); the worker encodes and
 *            formats (tvp_table_finish) and replies with its error
 *   OUTPUT   collect: the part's text reaches the parent.  ipc=pipe: as the reply's
 *            payload, into a parent buffer per worker kept across runs.  ipc=shm: through
 *            a memfd per worker, made by the parent before the fork: the worker grows it
 *            (ftruncate, never shrinks), keeps it mapped MAP_SHARED and copies its text
 *            into it; the reply says the length and the file's size, and the parent maps
 *            the file read-only (again only when its size changed)
 *   REPORT   untimed: PU, peak RSS, the worker's rows and step times
 *
 * job->parts_out[w] points into the parent's buffer or mapping of worker w until the
 * next run or stop.  Times: t_parse, t_fit, t_encode, t_format are the slowest worker's
 * (its tvp_lenc_worker times); t_merge is the parent's, from the last FIT reply received
 * to the last FINISH command (with its map) written: the last unpack, the merge and the
 * maps' sending.  merge_bytes: the packed sets and the maps that crossed the pipes;
 * bytes_moved: the input sent (scatter+pipe), merge_bytes and the output through pipes
 * (ipc=shm: none).
 *
 * A worker lost mid-run (end of file, EPIPE, or with --task-timeout a round it did not
 * answer in time) takes its sets or its text with it; with recovery on (--inject,
 * --task-timeout) it alone is replaced (table_replace): the new worker in its slot is
 * brought through the run's earlier rounds (its part parsed and fitted again, which gives
 * the same local sets and ids, so the merged map the parent already has still fits it)
 * and sent the round that was lost, while the others keep what they did.  Should that
 * fail POSIX_MAX_RESTARTS times, the run is retried whole on a new pool (posix_shape_run). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "posix.h"

/* OUTPUT reply with ipc=shm: the text is len bytes at the start of the worker's memfd,
 * which is cap bytes long */
struct table_shm_note {
    uint64_t len, cap;
};

/* REPORT reply's payload */
struct table_report {
    double parse, fit, encode, format;
    uint64_t rows;
};

enum table_rx { RX_HEAD, RX_BODY, RX_DONE };

/* the parent's view of worker w's side of the table */
struct table_peer {
    /* the reply being read */
    enum table_rx state;
    struct posix_msg m;
    char *dst;
    size_t got;
    char *rx; /* replies' payloads (FIT: error then sets) */
    size_t rx_cap;
    char *text; /* ipc=pipe: the part's output */
    size_t text_cap;
    const char *shm; /* ipc=shm: the parent's read-only mapping of the worker's memfd */
    size_t shm_cap;
    struct tvp_labels *sets; /* [nsel]: the worker's local sets, unpacked */
    uint32_t *map; /* [map_cap]: its local ids' class indices */
    size_t map_cap, map_len;
};

/* job->state: the parent's (a forked worker inherits a copy) */
struct posix_table {
    struct posix_pool *pool;
    int workers;
    int send_input;              /* data=scatter ipc=pipe: INPUT carries the part */
    int shm_out;                 /* ipc=shm: the output comes through the memfds */
    struct tvp_csv_part *parts;  /* [workers] */
    int *memfd;                  /* [workers], ipc=shm */
    struct table_peer *peer;     /* [workers] */
    struct tvp_table_error *errs; /* [workers]: the current step's */
    const struct tvp_labels **sets; /* [workers]: peer[w].sets, for tvp_table_merge */
    uint32_t **maps;             /* [workers]: peer[w].map */
    double t_last_set;           /* when the last FIT reply was whole */
    char *replied;               /* [workers]: the reply of the current round is whole */
    uint32_t failed_round;       /* the round a run was in when it failed */
    /* per-worker recovery: when worker w's loss was noticed (0: none pending), and how
     * many times it was replaced in this run */
    double *lost_at;
    int *restarts;
};

static const char empty_text[1] = "";

static int io_err(void)
{
    return errno == EPIPE ? TVP_EWORKER : TVP_ESYS;
}

/* Header m, then na bytes at a and nb bytes at b, as its payload. */
static int send_two(int fd, struct posix_msg *m, const void *a, size_t na, const void *b, size_t nb)
{
    m->payload = (uint64_t)na + nb;
    if (tvp_write_full(fd, m, sizeof *m) || (na && tvp_write_full(fd, a, na)) ||
        (nb && tvp_write_full(fd, b, nb)))
        return io_err();
    return 0;
}

/* *buf holds at least need bytes (kept, grown by doubling; at least one byte). */
static int grow(void *bufp, size_t *cap, size_t need, size_t elem)
{
    void **buf = bufp;
    if (need == 0)
        need = 1;
    if (*buf && *cap >= need)
        return 0;
    size_t n = *cap ? *cap : 1;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : 2 * n;
    if (n > SIZE_MAX / elem)
        return TVP_ENOMEM;
    void *p = realloc(*buf, n * elem);
    if (!p)
        return TVP_ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

/* ---- the worker (child side) ----------------------------------------------------------- */

enum table_stage { ST_IDLE, ST_RUN, ST_INPUT, ST_FITTED, ST_FINISHED };

struct table_child {
    const struct tvp_job *job;
    const struct posix_table *s; /* the child's copy of the parent's */
    int index, cmd, res;
    struct tvp_csv_part part;
    struct tvp_lenc_worker lw;
    enum table_stage stage;
    char *own; /* scatter+pipe: the part's bytes, sent every run */
    size_t own_len;
    struct tvp_csv_buf pack; /* FIT reply: the packed sets */
    uint32_t *map;
    size_t map_cap;
    int memfd; /* ipc=shm */
    char *shm;
    size_t shm_cap;
    long rss_base_kb;
    int pu;
};

/* Pins the worker, then allocates and touches the buffer its part will come into. */
static int table_child_setup(struct table_child *c, double *t_touch)
{
    const struct tvp_job *job = c->job;
    int err = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[c->index] : -1);
    if (err)
        return err;
    double t0 = tvp_now();
    if (c->s->send_input) {
        c->own_len = c->part.end - c->part.begin;
        if (!(c->own = tvp_alloc_touched(c->own_len ? c->own_len : 1)))
            return TVP_ENOMEM;
    }
    *t_touch = tvp_now() - t0;
    c->pu = tvp_pin_last_pu(job->topo);
    return 0;
}

static int table_child_fit(struct table_child *c, struct posix_msg *r)
{
    const struct tvp_job *job = c->job;
    struct tvp_lenc_worker *me = &c->lw;
    struct tvp_table_error e;

    me->buf = c->own ? c->own : job->text;
    me->begin = c->own ? 0 : c->part.begin;
    me->end = c->own ? c->own_len : c->part.end;
    me->line = c->part.line;
    c->pack.len = 0;
    tvp_inject_point(); /* --inject: a table worker's task is its part's fit */
    int rc = tvp_table_fit(job, me, c->index, &e);
    if (!rc && job->table->mode == TVP_LENC_FIT &&
        (rc = tvp_lenc_pack_sets(job->table, me->sets, &c->pack))) {
        e = (struct tvp_table_error){.err = rc, .step = TVP_TABLE_LATER, .part = c->index};
        snprintf(e.msg, sizeof e.msg, "%s",
                 rc == TVP_ENOMEM ? "out of memory" : "a label of 4 GiB or more cannot be sent");
        c->pack.len = 0;
    }
    c->stage = rc ? ST_IDLE : ST_FITTED;
    return send_two(c->res, r, &e, sizeof e, c->pack.data, c->pack.len);
}

static int table_child_finish(struct table_child *c, const struct posix_msg *m, struct posix_msg *r)
{
    const struct tvp_job *job = c->job;
    int fit = job->table->mode == TVP_LENC_FIT, err;
    size_t len = fit ? tvp_lenc_map_len(job->table, c->lw.sets) : 0;
    struct tvp_table_error e;

    if (grow(&c->map, &c->map_cap, len, sizeof *c->map))
        return TVP_ENOMEM;
    if ((err = posix_payload_recv(c->cmd, m, c->map, len * sizeof *c->map)))
        return err;
    int rc = tvp_table_finish(job, &c->lw, fit ? c->map : NULL, c->index, &e);
    c->pu = tvp_pin_last_pu(job->topo);
    c->stage = rc ? ST_IDLE : ST_FINISHED;
    return send_two(c->res, r, &e, sizeof e, NULL, 0);
}

/* The part's text into the memfd, grown (never shrunk) and kept mapped. */
static int table_child_shm(struct table_child *c, struct posix_msg *r)
{
    size_t len = c->lw.out.len;
    if (len > c->shm_cap) {
        long pg = sysconf(_SC_PAGESIZE);
        size_t page = pg > 0 ? (size_t)pg : 4096, cap = (len + page - 1) / page * page;
        if (c->shm)
            munmap(c->shm, c->shm_cap);
        c->shm = NULL;
        c->shm_cap = 0;
        if (ftruncate(c->memfd, (off_t)cap) != 0)
            return TVP_ESYS;
        void *a = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
        if (a == MAP_FAILED)
            return TVP_ESYS;
        c->shm = a;
        c->shm_cap = cap;
    }
    if (len)
        memcpy(c->shm, c->lw.out.data, len);
    struct table_shm_note note = {len, c->shm_cap};
    return send_two(c->res, r, &note, sizeof note, NULL, 0);
}

/* Does what command m asks and answers with a reply of the same type.  Commands must
 * come in the order of a run; anything else is a protocol error (the worker _exits). */
static int table_child_serve(void *arg, struct posix_msg *m)
{
    struct table_child *c = arg;
    struct posix_msg r = {.type = m->type};
    int err;

    switch (m->type) {
    case POSIX_MSG_RUN:
        if (m->payload)
            return TVP_EWORKER;
        tvp_lenc_worker_reset(&c->lw);
        tvp_inject_run(m->chunk != 0); /* RUN says whether the run is a timed one */
        c->stage = ST_RUN;
        return send_two(c->res, &r, NULL, 0, NULL, 0);
    case POSIX_MSG_INPUT:
        if (c->stage != ST_RUN)
            return TVP_EWORKER;
        if ((err = posix_payload_recv(c->cmd, m, c->own, c->s->send_input ? c->own_len : 0)))
            return err;
        c->stage = ST_INPUT;
        return send_two(c->res, &r, NULL, 0, NULL, 0);
    case POSIX_MSG_FIT:
        if (c->stage != ST_INPUT || m->payload)
            return TVP_EWORKER;
        return table_child_fit(c, &r);
    case POSIX_MSG_FINISH:
        if (c->stage != ST_FITTED)
            return TVP_EWORKER;
        return table_child_finish(c, m, &r);
    case POSIX_MSG_OUTPUT:
        if (c->stage != ST_FINISHED || m->payload)
            return TVP_EWORKER;
        c->stage = ST_IDLE;
        if (c->s->shm_out)
            return table_child_shm(c, &r);
        return send_two(c->res, &r, c->lw.out.data, c->lw.out.len, NULL, 0);
    case POSIX_MSG_REPORT: {
        if (m->payload)
            return TVP_EWORKER;
        struct table_report rep = {c->lw.t.parse, c->lw.t.fit, c->lw.t.encode, c->lw.t.format,
                                   c->lw.rows};
        r.pu = c->pu;
        long rss = tvp_peak_rss_kb() - c->rss_base_kb;
        r.rss_kb = rss > 0 ? rss : 0;
        return send_two(c->res, &r, &rep, sizeof rep, NULL, 0);
    }
    default:
        return TVP_EWORKER;
    }
}

/* The life of worker w after fork() (a posix_child_fn): never returns. */
static void table_child_main(const struct tvp_job *job, int w, int cmd, int res, void *arg)
{
    const struct posix_table *s = arg;
    struct table_child c = {.job = job,
                            .s = s,
                            .index = w,
                            .cmd = cmd,
                            .res = res,
                            .part = s->parts[w],
                            .memfd = -1,
                            .pu = -1,
                            .rss_base_kb = tvp_peak_rss_kb()};
    tvp_lenc_worker_init(&c.lw);
    for (int i = 0; s->memfd && i < s->workers; i++) { /* only its own memfd */
        if (i == w)
            c.memfd = s->memfd[i];
        else if (s->memfd[i] >= 0)
            close(s->memfd[i]);
    }
    double t_touch = 0;
    int err = table_child_setup(&c, &t_touch);
    posix_child_loop(cmd, res, err, t_touch, table_child_serve, &c);
}

/* ---- the parent ------------------------------------------------------------------------ */

/* FIT, FINISH: the error at the start of the payload, NUL-terminated. */
static void take_error(struct posix_table *s, int w, const struct table_peer *q)
{
    memcpy(&s->errs[w], q->rx, sizeof s->errs[w]);
    s->errs[w].msg[sizeof s->errs[w].msg - 1] = 0;
}

/* Where worker w's reply m to `type` goes; refuses payloads of the wrong size. */
static int reply_buffer(struct posix_table *s, uint32_t type, struct table_peer *q)
{
    uint64_t n = q->m.payload;
    switch (type) {
    case POSIX_MSG_RUN:
    case POSIX_MSG_INPUT:
        if (n != 0)
            return TVP_EWORKER;
        break;
    case POSIX_MSG_FIT:
        if (n < sizeof(struct tvp_table_error))
            return TVP_EWORKER;
        break;
    case POSIX_MSG_FINISH:
        if (n != sizeof(struct tvp_table_error))
            return TVP_EWORKER;
        break;
    case POSIX_MSG_OUTPUT:
        if (s->shm_out && n != sizeof(struct table_shm_note))
            return TVP_EWORKER;
        break;
    case POSIX_MSG_REPORT:
        if (n != sizeof(struct table_report))
            return TVP_EWORKER;
        break;
    default:
        return TVP_EWORKER;
    }
    if (n > SIZE_MAX / 2)
        return TVP_EWORKER;
    if (type == POSIX_MSG_OUTPUT && !s->shm_out) {
        if (grow(&q->text, &q->text_cap, (size_t)n, 1))
            return TVP_ENOMEM;
        q->dst = q->text;
    } else {
        if (grow(&q->rx, &q->rx_cap, (size_t)n, 1))
            return TVP_ENOMEM;
        q->dst = q->rx;
    }
    return 0;
}

/* ipc=shm: worker w's text, through the parent's mapping of its memfd. */
static int shm_text(struct posix_table *s, int w, struct table_peer *q, const char **p, size_t *len)
{
    struct table_shm_note note;
    memcpy(&note, q->rx, sizeof note);
    if (note.len > note.cap || note.cap > SIZE_MAX)
        return TVP_EWORKER;
    if (note.cap != q->shm_cap) {
        if (q->shm)
            munmap((void *)q->shm, q->shm_cap);
        q->shm = NULL;
        q->shm_cap = 0;
        if (note.cap) {
            void *a = mmap(NULL, (size_t)note.cap, PROT_READ, MAP_SHARED, s->memfd[w], 0);
            if (a == MAP_FAILED)
                return TVP_ESYS;
            q->shm = a;
            q->shm_cap = (size_t)note.cap;
        }
    }
    *p = note.len ? q->shm : empty_text;
    *len = (size_t)note.len;
    return 0;
}

/* Worker w's whole reply to `type` is in: what it tells the parent. */
static int reply_done(struct tvp_job *job, struct posix_table *s, int w, uint32_t type,
                      struct tvp_run *run)
{
    struct table_peer *q = &s->peer[w];
    const struct tvp_lenc_table *t = job->table;
    size_t n = (size_t)q->m.payload;
    int rc;

    switch (type) {
    case POSIX_MSG_FIT:
        s->t_last_set = tvp_now();
        take_error(s, w, q);
        if (s->errs[w].err || t->mode != TVP_LENC_FIT)
            return n == sizeof s->errs[w] ? 0 : TVP_EWORKER;
        /* the sets, unpacked now, while the others still fit or send (into the last
         * run's sets: unpack clears them and keeps their memory) */
        n -= sizeof s->errs[w];
        rc = tvp_lenc_unpack_sets(t, q->rx + sizeof s->errs[w], n, q->sets);
        if (rc)
            return rc == TVP_EINPUT ? TVP_EWORKER : rc;
        run->merge_bytes += n;
        run->bytes_moved += n;
        return 0;
    case POSIX_MSG_FINISH:
        take_error(s, w, q);
        return 0;
    case POSIX_MSG_OUTPUT:
        if (s->shm_out) {
            const char *p;
            size_t len;
            if ((rc = shm_text(s, w, q, &p, &len)))
                return rc;
            job->parts_out[w] = (struct tvp_label){p, len};
        } else {
            job->parts_out[w] = (struct tvp_label){n ? q->text : empty_text, n};
            run->bytes_moved += n;
        }
        return 0;
    case POSIX_MSG_REPORT: {
        struct table_report rep;
        memcpy(&rep, q->rx, sizeof rep);
        run->t_parse = rep.parse > run->t_parse ? rep.parse : run->t_parse;
        run->t_fit = rep.fit > run->t_fit ? rep.fit : run->t_fit;
        run->t_encode = rep.encode > run->t_encode ? rep.encode : run->t_encode;
        run->t_format = rep.format > run->t_format ? rep.format : run->t_format;
        run->rows += rep.rows;
        run->pu[w] = q->m.pu;
        run->peak_rss_kb += (long)q->m.rss_kb;
        return 0;
    }
    default:
        return 0;
    }
}

static int table_replace(struct tvp_job *job, struct posix_table *s, int w, uint32_t type,
                         struct tvp_run *run);

/* Worker w is lost (end of file, EPIPE, or hung past the task timeout) and recovery is on. */
static int table_lost(const struct posix_table *s, int w, int err)
{
    const struct posix_worker *x = &s->pool->w[w];
    return err == TVP_EWORKER && s->pool->recover && (x->gone || x->hung);
}

/* The replies to `type`, in the order they come: every worker's (only < 0), or worker
 * only's alone (bringing a replacement up to date: the others' replies in progress are
 * left as they are).  Each header whole (one atomic write), then the payload a piece at a
 * time, as much as its pipe holds, so that every worker keeps writing while the parent
 * reads.  With recovery on, a worker lost while every reply is awaited is replaced and
 * sent `type` again (table_replace), and its reply awaited with the others. */
static int table_gather(struct tvp_job *job, struct posix_table *s, uint32_t type,
                        struct tvp_run *run, int only)
{
    struct posix_pool *p = s->pool;
    int left = 0, err;

    for (int w = 0; w < p->count; w++) {
        if (only >= 0 && w != only)
            continue;
        s->peer[w].state = RX_HEAD;
        left++;
    }
    while (left > 0) {
        nfds_t nfd;
        for (int w = 0; w < p->count; w++)
            s->replied[w] = (only >= 0 && w != only) || s->peer[w].state == RX_DONE;
        if ((err = posix_pool_poll(p, s->replied, &nfd))) { /* TVP_EWORKER: hung (timeout) */
            if (only >= 0 || err != TVP_EWORKER || !s->pool->recover)
                return err;
            int w = 0; /* the first hung one; the next poll finds any other */
            while (w < p->count && !(p->w[w].hung && s->peer[w].state != RX_DONE))
                w++;
            if (w == p->count || (err = table_replace(job, s, w, type, run)))
                return err;
            continue;
        }
        /* a replacement (its own polls reuse p->pfd) ends this pass: poll again */
        int replaced = 0;
        for (nfds_t i = 0; i < nfd && !replaced; i++) {
            if (!p->pfd[i].revents) /* POLLHUP/POLLERR too: the read sees the end of file */
                continue;
            int w = p->pfd_worker[i], fd = p->w[w].res;
            struct table_peer *q = &s->peer[w];
            if (q->state == RX_HEAD) {
                if ((err = posix_msg_recv(fd, &q->m))) {
                    p->w[w].gone = err == TVP_EWORKER; /* end of file: it died */
                    if (only < 0 && table_lost(s, w, err) && !(err = table_replace(job, s, w, type, run))) {
                        replaced = 1;
                        continue;
                    }
                    return err;
                }
                if (q->m.err)
                    return q->m.err < 0 ? q->m.err : TVP_EWORKER;
                if (q->m.type != type)
                    return TVP_EWORKER;
                if ((err = reply_buffer(s, type, q)))
                    return err;
                q->got = 0;
                q->state = q->m.payload ? RX_BODY : RX_DONE;
            } else {
                ssize_t n = read(fd, q->dst + q->got, (size_t)q->m.payload - q->got);
                if (n < 0 && errno != EINTR && errno != EAGAIN)
                    return TVP_ESYS;
                if (n == 0) {
                    p->w[w].gone = 1; /* it died */
                    if (only < 0 && table_lost(s, w, TVP_EWORKER)) {
                        if ((err = table_replace(job, s, w, type, run)))
                            return err;
                        replaced = 1;
                        continue;
                    }
                    return TVP_EWORKER;
                }
                if (n > 0 && (q->got += (size_t)n) == q->m.payload)
                    q->state = RX_DONE;
            }
            if (q->state == RX_DONE) {
                left--;
                if (only < 0 && s->lost_at[w] > 0) { /* a replacement has done the lost work */
                    run->t_recovery += tvp_now() - s->lost_at[w];
                    s->lost_at[w] = 0;
                }
                if ((err = reply_done(job, s, w, type, run)))
                    return err;
            }
        }
    }
    return 0;
}

/* Command `type` to worker w, with what it carries: INPUT (scatter+pipe) the part's
 * bytes, FINISH (FIT) the map. */
static int table_send(struct tvp_job *job, struct posix_table *s, int w, uint32_t type,
                      struct tvp_run *run)
{
    struct posix_msg m = {.type = type, .chunk = type == POSIX_MSG_RUN ? (uint64_t)job->timed : 0};
    const void *payload = NULL;
    s->pool->w[w].sent = tvp_now(); /* --task-timeout counts from here */
    if (type == POSIX_MSG_INPUT && s->send_input) {
        payload = job->text + s->parts[w].begin;
        m.payload = s->parts[w].end - s->parts[w].begin;
        run->bytes_moved += m.payload;
    } else if (type == POSIX_MSG_FINISH && job->table->mode == TVP_LENC_FIT) {
        payload = s->peer[w].map;
        m.payload = (uint64_t)s->peer[w].map_len * sizeof *s->peer[w].map;
        run->merge_bytes += m.payload;
        run->bytes_moved += m.payload;
    }
    int err = posix_msg_send(s->pool->w[w].cmd, &m, payload);
    if (err == TVP_EWORKER) /* EPIPE: it is dead */
        s->pool->w[w].gone = 1;
    return err;
}

/* Command `type` to every worker; with recovery on, one found dead is replaced (and sent
 * it) at once. */
static int table_send_all(struct tvp_job *job, struct posix_table *s, uint32_t type,
                          struct tvp_run *run)
{
    int err;
    s->failed_round = type;
    for (int w = 0; w < s->pool->count; w++)
        if ((err = table_send(job, s, w, type, run)) &&
            (!table_lost(s, w, err) || (err = table_replace(job, s, w, type, run))))
            return err;
    return 0;
}

/* One lockstep round. */
static int table_round(struct tvp_job *job, struct posix_table *s, uint32_t type,
                       struct tvp_run *run)
{
    int err = table_send_all(job, s, type, run);
    return err ? err : table_gather(job, s, type, run, -1);
}

/* The rounds of a run, in order: what a replacement must be brought through. */
static const uint32_t table_rounds[] = {POSIX_MSG_RUN, POSIX_MSG_INPUT, POSIX_MSG_FIT,
                                        POSIX_MSG_FINISH, POSIX_MSG_OUTPUT, POSIX_MSG_REPORT};

static const char *table_round_name(uint32_t type);

/* Per-worker recovery: worker w was lost in round `type`.  It is reaped and replaced by a
 * new worker in its slot, which is brought through this run's earlier rounds (its part
 * parsed and fitted again: the same local sets and ids, so the merged map still fits; with
 * FIT the same map sent again) and sent `type`; its reply then comes with the others'.  The
 * other workers keep what they have done.  One line on stderr says so.  A replacement lost
 * in turn is replaced again, at most POSIX_MAX_RESTARTS times per worker and run. */
static int table_replace(struct tvp_job *job, struct posix_table *s, int w, uint32_t type,
                         struct tvp_run *run)
{
    struct posix_pool *p = s->pool;
    const char *during = table_round_name(type);
    for (;;) {
        double now = tvp_now();
        double detect = p->w[w].sent > 0 && now > p->w[w].sent ? now - p->w[w].sent : 0;
        pid_t pid = p->w[w].pid;
        int hung = p->w[w].hung, err;
        char why[160];
        if (!s->lost_at[w])
            s->lost_at[w] = now;
        run->recovered++;
        run->t_detect += detect;
        if (++s->restarts[w] > POSIX_MAX_RESTARTS) {
            fprintf(stderr, "tvp-posix: worker %d (pid %d) lost %s; it was lost %d times in this "
                            "run: giving up\n", w, (int)pid, during, s->restarts[w]);
            return TVP_EWORKER;
        }
        if ((err = posix_pool_replace(job, p, w, why, sizeof why)) && !table_lost(s, w, err))
            return err;
        fprintf(stderr, "tvp-posix: worker %d (pid %d) %s %s; %srestarting it and re-running its "
                        "part\n", w, (int)pid, why, during, hung ? "killed it (SIGKILL), " : "");
        fflush(stderr);
        for (size_t i = 0; !err && table_rounds[i] != type; i++)
            if (!(err = table_send(job, s, w, table_rounds[i], run)))
                err = table_gather(job, s, table_rounds[i], run, w);
        if (!err)
            err = table_send(job, s, w, type, run);
        if (!err) {
            s->peer[w].state = RX_HEAD;
            s->failed_round = type;
            return 0;
        }
        if (!table_lost(s, w, err))
            return err;
        during = "while it replaced a lost worker";
    }
}

/* The earliest error of the current step, if any: into *job->error, *failed set. */
static int table_check(struct tvp_job *job, struct posix_table *s, int *failed)
{
    const struct tvp_table_error *e = tvp_table_error_pick(s->errs, (size_t)s->workers);
    if (!e)
        return 0;
    *job->error = *e;
    *failed = 1;
    return e->err;
}

/* The compute phase: FIT, the merge, FINISH.  A worker's error ends it with *failed set
 * (the pool still in protocol); any other error breaks the pool. */
static int table_compute(struct tvp_job *job, struct posix_table *s, struct tvp_run *run,
                         int *failed)
{
    const struct tvp_lenc_table *t = job->table;
    int err;

    memset(s->errs, 0, (size_t)s->workers * sizeof *s->errs);
    if ((err = table_round(job, s, POSIX_MSG_FIT, run)))
        return err;
    if ((err = table_check(job, s, failed)))
        return err;
    if (t->mode == TVP_LENC_FIT) {
        for (int w = 0; w < s->workers; w++) {
            struct table_peer *q = &s->peer[w];
            q->map_len = tvp_lenc_map_len(t, q->sets);
            if (grow(&q->map, &q->map_cap, q->map_len, sizeof *q->map))
                return TVP_ENOMEM;
            s->maps[w] = q->map;
        }
        if ((err = tvp_table_merge(job, s->sets, s->maps)))
            return err;
    }
    memset(s->errs, 0, (size_t)s->workers * sizeof *s->errs);
    if ((err = table_send_all(job, s, POSIX_MSG_FINISH, run)))
        return err;
    if (t->mode == TVP_LENC_FIT)
        run->t_merge = tvp_now() - s->t_last_set;
    if ((err = table_gather(job, s, POSIX_MSG_FINISH, run, -1)))
        return err;
    return table_check(job, s, failed);
}

static void table_free(struct posix_table *s, size_t nsel)
{
    for (int w = 0; s->peer && w < s->workers; w++) {
        struct table_peer *q = &s->peer[w];
        free(q->rx);
        free(q->text);
        if (q->shm)
            munmap((void *)q->shm, q->shm_cap);
        for (size_t k = 0; q->sets && k < nsel; k++)
            tvp_labels_free(&q->sets[k]);
        free(q->sets);
        free(q->map);
    }
    for (int w = 0; s->memfd && w < s->workers; w++)
        posix_fd_close(&s->memfd[w]);
    free(s->memfd);
    free(s->peer);
    free(s->parts);
    free(s->errs);
    free(s->sets);
    free(s->maps);
    free(s->replied);
    free(s->lost_at);
    free(s->restarts);
    free(s);
}

int posix_table_start(struct tvp_job *job, struct tvp_start *st)
{
    size_t n = (size_t)(job->workers > 0 ? job->workers : 1), nsel = job->table->nsel;
    struct posix_table *s = calloc(1, sizeof *s);
    int err = 0;

    if (!s)
        return TVP_ENOMEM;
    if (job->workers < 1 || !job->text) {
        free(s);
        return job->workers < 1 ? TVP_EUSAGE : TVP_ENOSYS;
    }
    s->workers = job->workers;
    s->send_input = job->opt->data == TVP_DATA_SCATTER && job->opt->ipc == TVP_IPC_PIPE;
    s->shm_out = job->opt->ipc == TVP_IPC_SHM;
    s->parts = calloc(n, sizeof *s->parts);
    s->peer = calloc(n, sizeof *s->peer);
    s->errs = calloc(n, sizeof *s->errs);
    s->sets = calloc(n, sizeof *s->sets);
    s->maps = calloc(n, sizeof *s->maps);
    s->replied = calloc(n, 1);
    s->lost_at = calloc(n, sizeof *s->lost_at);
    s->restarts = calloc(n, sizeof *s->restarts);
    if (!s->parts || !s->peer || !s->errs || !s->sets || !s->maps || !s->replied ||
        !s->lost_at || !s->restarts)
        err = TVP_ENOMEM;
    for (size_t w = 0; !err && w < n; w++) {
        struct table_peer *q = &s->peer[w];
        if (!(q->sets = calloc(nsel ? nsel : 1, sizeof *q->sets))) {
            err = TVP_ENOMEM;
            break;
        }
        for (size_t k = 0; k < nsel; k++)
            tvp_labels_init(&q->sets[k]);
        s->sets[w] = q->sets;
    }
    if (!err)
        err = tvp_table_parts(job, s->parts);
    if (!err && s->shm_out) {
        if (!(s->memfd = malloc(n * sizeof *s->memfd)))
            err = TVP_ENOMEM;
        for (size_t w = 0; s->memfd && w < n; w++)
            s->memfd[w] = -1;
        for (size_t w = 0; !err && w < n; w++) {
            char name[32];
            snprintf(name, sizeof name, "tvp-table-%zu", w);
            if ((s->memfd[w] = memfd_create(name, MFD_CLOEXEC)) < 0)
                err = TVP_ESYS;
        }
    }
    if (!err)
        err = posix_pool_start(job, table_child_main, s, st, &s->pool);
    if (err) {
        table_free(s, nsel);
        return err;
    }
    job->state = s;
    return 0;
}

/* One attempt at a run.  *failed: a worker's error (bad input), the pool still in protocol. */
static int table_run_once(struct tvp_job *job, struct tvp_run *run, double phase[4], int *failed)
{
    struct posix_table *s = job->state;
    double t[5];
    int err;
    for (int w = 0; w < s->workers; w++) {
        s->replied[w] = 0;
        s->lost_at[w] = 0;
        s->restarts[w] = 0;
    }
    run->bytes_moved = run->merge_bytes = 0;
    run->peak_rss_kb = 0;
    run->t_parse = run->t_fit = run->t_merge = run->t_encode = run->t_format = 0;
    run->rows = 0;
    t[0] = tvp_now();
    err = table_round(job, s, POSIX_MSG_RUN, run);
    t[1] = tvp_now();
    if (!err)
        err = table_round(job, s, POSIX_MSG_INPUT, run);
    t[2] = tvp_now();
    if (!err)
        err = table_compute(job, s, run, failed);
    t[3] = tvp_now();
    if (!err)
        err = table_round(job, s, POSIX_MSG_OUTPUT, run);
    t[4] = tvp_now();
    if (!err) /* untimed */
        err = table_round(job, s, POSIX_MSG_REPORT, run);
    for (int i = 0; i < 4; i++)
        phase[i] = t[i + 1] - t[i];
    return err;
}

static const char *table_round_name(uint32_t type)
{
    switch (type) {
    case POSIX_MSG_RUN: return "at the start of a run";
    case POSIX_MSG_INPUT: return "while its part came in";
    case POSIX_MSG_FIT: return "during its part's parse and fit";
    case POSIX_MSG_FINISH: return "during its part's encode and format";
    case POSIX_MSG_OUTPUT: return "while its part's text went back";
    default: return "while reporting";
    }
}

static struct posix_pool **table_pool(struct tvp_job *job, const char **replied,
                                      const char **during)
{
    struct posix_table *s = job->state;
    if (replied)
        *replied = s->replied;
    if (during)
        *during = table_round_name(s->failed_round);
    return &s->pool;
}

static void table_drop(struct tvp_job *job, int clean)
{
    (void)clean;
    table_free(job->state, job->table->nsel);
    job->state = NULL;
}

static const struct posix_shape table_shape = {table_run_once, table_pool, table_drop,
                                               posix_table_start};

/* A worker lost mid-run is replaced alone (table_replace); the run-level retry of
 * posix_shape_run (every worker ended, a new pool, the whole run again; the row with the
 * retried run's phases, t_total with the lost time added) is left for a worker lost over
 * and over. */
int posix_table_run(struct tvp_job *job, struct tvp_run *run)
{
    return posix_shape_run(job, run, &table_shape);
}

int posix_table_stop(struct tvp_job *job)
{
    return posix_shape_stop(job, &table_shape);
}
