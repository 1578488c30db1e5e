/* The one command line every backend takes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvp.h"

const char tvp_usage_text[] =
    "usage: tvp-BACKEND WORKLOAD [options]\n"
    "\n"
    "Workloads:\n"
    "  squares               out[i] = in[i]*in[i] over int64 (Pool.map(square, inputs))\n"
    "  filter                image filters (a stencil: halo rows cross between workers)\n"
    "  labelencode           scikit-learn's LabelEncoder on CSV columns (a dictionary:\n"
    "                        local sets, one merge, then encode)\n"
    "\n"
    "Input:\n"
    "  --n N                 squares: items (default 20000000; suffixes k, M, G = 10^3,\n"
    "                        10^6, 10^9)\n"
    "  --seed S              generator seed (default 42); squares: values in [-2^31, 2^31)\n"
    "  --in FILE             squares: one integer per line; filter: a PNG (8-bit gray,\n"
    "                        gray+alpha, RGB, RGBA) or PGM/PPM (P2, P3, P5, P6, maxval 255)\n"
    "Filter:\n"
    "  --filter NAME[,NAME...]  applied in order (default gaussian3): gaussian3,\n"
    "                        gaussian5, box3, sharpen, sobel, median3, gray\n"
    "  --iterations K        apply the whole list K times (default 1)\n"
    "  --width W --height H --channels 1|3   the generated image without --in\n"
    "                        (default 8192 x 8192 x 3)\n"
    "  --max-pixels P        refuse larger images (default 268435456)\n"
    "  --out FILE            write the filtered image (.png, .pgm, .ppm; needs\n"
    "                        --data scatter)\n"
    "Labelencode:\n"
    "  --in FILE.csv         RFC 4180 CSV with a header row (default: a generated table)\n"
    "  --out FILE.csv        the encoded table (every column kept, in order)\n"
    "  --columns a,b,...     the columns to encode (default: all)\n"
    "  --classes-out F.json  the classes of each encoded column ({\"col\": [...]})\n"
    "  --classes-in F.json   transform with classes fitted earlier (unseen labels: exit 2)\n"
    "  --inverse             with --classes-in: codes back to labels\n"
    "  --delimiter C         field separator (default ','; 'tab' for a tab)\n"
    "  --rows R --columns-count C --cardinality K --skew S   the generated table\n"
    "                        (default 2000000 rows x 3 columns of 1000 labels, Zipf\n"
    "                        skew 1.0; 0 = uniform)\n"
    "Parallelism:\n"
    "  --workers W           threads or processes (default: PUs available; tvp-mpi: the\n"
    "                        ranks the launcher started; tvp-serial: 1)\n"
    "  --schedule static|dynamic   one block per worker, or chunks on demand\n"
    "  --chunk C             items per chunk with dynamic (default 65536; filter: rows,\n"
    "                        default 16)\n"
    "  --data local|scatter  each worker makes its own input and keeps its output, or the\n"
    "                        parent holds all input and must end with all output\n"
    "  --ipc pipe|shm        tvp-posix: move data through pipes or a shared mapping\n"
    "  --bind auto|none|core|scatter|list:0,2,...   pin each worker to a PU (default\n"
    "                        auto: core, but tvp-mpi keeps a binding the launcher made)\n"
    "Measurement:\n"
    "  --warmup K            untimed runs first (default 1)\n"
    "  --repeat R            timed runs, one record row each (default 5)\n"
    "  --verify              recompute serially and compare; a mismatch exits 1\n"
    "  --format text|csv|json   human table, CSV with header, or JSON lines\n"
    "  --record FILE         write the record to FILE (atomically) instead of stdout\n"
    "  --out FILE            squares: the same as --record\n"
    "  --help, --version\n"
    "Faults (what happens to the others when one worker fails):\n"
    "  --inject crash:worker=I,task=K   worker I dies by SIGSEGV (a real invalid write)\n"
    "                        when it starts its K-th task (block, chunk, pass or part;\n"
    "                        counted from 1 over the timed runs, warm-ups excluded)\n"
    "  --inject crash:worker=I,after=T  the same T seconds after worker I's first timed\n"
    "                        run started (T in seconds, decimals allowed; Tms: milliseconds)\n"
    "  --inject hang:worker=I,...       worker I stops answering (sleeps forever) instead\n"
    "  --task-timeout S      tvp-posix: a worker that does not answer within S seconds\n"
    "                        (Sms: milliseconds) is hung: killed and replaced (default off)\n"
    "                        tvp-posix replaces a dead or hung worker and re-runs its lost\n"
    "                        work when --inject or --task-timeout is given\n"
    "Probes (tvp-BACKEND probe NAME: what separates processes from threads):\n"
    "  probe spawn           creating and joining --workers W workers (default 2)\n"
    "  probe ipc             round trip and bandwidth between two workers, 8 B to\n"
    "                        --max-size (default 64Mi; suffixes k M G, Ki Mi Gi)\n"
    "  probe switch          context switch: a blocking ping-pong on one core, then two\n"
    "  probe memory          RSS and PSS of W workers reading a shared --size-mib X MiB\n"
    "                        input (default 256) and writing X/W of their own\n"
    "  --outer R             outer repetitions (default 20); --target-ms T: inner\n"
    "                        repetitions grow until one loop takes T ms (default 1)\n"
    "  --touch MiB           spawn, tvp-posix: the parent touches this much first\n"
    "                        (default 0: one row; else a row without and one with)\n"
    "\n"
    "Exit status: 0 ok, 1 verification failed, 2 usage or bad input, 3 runtime failure.\n";

void tvp_options_default(struct tvp_options *o)
{
    memset(o, 0, sizeof *o);
    o->n = TVP_DEFAULT_N;
    o->seed = TVP_DEFAULT_SEED;
    o->schedule = TVP_SCHED_STATIC;
    o->chunk = TVP_DEFAULT_CHUNK;
    o->data = TVP_DATA_LOCAL;
    o->ipc = TVP_IPC_PIPE;
    o->bind = TVP_BIND_AUTO;
    o->repeat = 5;
    o->warmup = 1;
    o->format = TVP_FMT_TEXT;
    o->filters = "gaussian3";
    o->iterations = 1;
    o->width = o->height = TVP_DEFAULT_SIDE;
    o->channels = 3;
    o->max_pixels = (uint64_t)1 << 28;
    o->rows = TVP_DEFAULT_TABLE_ROWS;
    o->columns_count = TVP_DEFAULT_TABLE_COLUMNS;
    o->cardinality = TVP_DEFAULT_CARDINALITY;
    o->skew = TVP_DEFAULT_SKEW;
    o->delimiter = ',';
    /* ---- probes ---- */
    o->outer = 20;
    o->target_ms = 1.0;
    o->max_size = (uint64_t)64 << 20;
    o->touch_mib = 0;
    o->size_mib = 256;
    /* ---- end probes ---- */
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), TVP_EUSAGE)

/* A non-negative decimal integer, with an optional k/M/G suffix; nothing else. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1000, end++;
    else if (*end == 'M')
        mul = 1000000, end++;
    else if (*end == 'G')
        mul = 1000000000, end++;
    if (*end || (v && mul > max / v) || v * mul > max)
        return -1;
    *out = v * mul;
    return 0;
}

/* ---- probes ---- */
/* Bytes: a whole number with k/M/G (10^3, 10^6, 10^9) or Ki/Mi/Gi (2^10, 2^20, 2^30). */
static int parse_bytes(const char *s, uint64_t max, uint64_t *out)
{
    char buf[64];
    size_t len = s ? strlen(s) : 0;
    uint64_t mul = 1, v;
    if (len >= 3 && len < sizeof buf && s[len - 1] == 'i' && strchr("KMG", s[len - 2])) {
        mul = s[len - 2] == 'K' ? 1u << 10 : s[len - 2] == 'M' ? 1u << 20 : 1u << 30;
        memcpy(buf, s, len - 2);
        buf[len - 2] = 0;
        s = buf;
    }
    if (parse_u64(s, max / mul, &v) != 0)
        return -1;
    *out = v * mul;
    return 0;
}

/* the options a probe takes; every other option with a value belongs to workloads */
static int probe_takes(const char *name)
{
    static const char *const ok[] = {"--workers", "--bind",     "--format",   "--record", "--outer",
                                     "--target-ms", "--max-size", "--touch", "--size-mib"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(name, ok[i]) == 0)
            return 1;
    return 0;
}
/* ---- end probes ---- */

static int parse_choice(const char *s, const char *const *names, int count)
{
    for (int i = 0; s && i < count; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Seconds: a decimal number, or with the suffix ms (milliseconds) or s; 0 < x <= max. */
static int parse_seconds(const char *s, double max, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s)
        return -1;
    if (strcmp(end, "ms") == 0)
        x /= 1e3;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    if (!(x >= 0 && x <= max))
        return -1;
    *out = x;
    return 0;
}

/* --inject crash|hang:worker=I,task=K  or  crash|hang:worker=I,after=T[ms] */
static int parse_inject(struct tvp_options *o, const char *v, char *err, size_t errlen)
{
    const char *what = v ? v : "";
    const char *colon = v ? strchr(v, ':') : NULL;
    int worker = 0, task = 0, after = 0;
    uint64_t u;
    if (!colon)
        goto bad;
    if ((size_t)(colon - v) == 5 && strncmp(v, "crash", 5) == 0)
        o->inject = TVP_INJECT_CRASH;
    else if ((size_t)(colon - v) == 4 && strncmp(v, "hang", 4) == 0)
        o->inject = TVP_INJECT_HANG;
    else
        goto bad;
    for (const char *p = colon + 1;;) {
        char item[64];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item)
            goto bad;
        memcpy(item, p, len);
        item[len] = 0;
        char *eq = strchr(item, '=');
        if (!eq)
            goto bad;
        *eq++ = 0;
        if (strcmp(item, "worker") == 0 && !worker) {
            if (parse_u64(eq, 65535, &u) != 0)
                return FAIL("--inject: worker '%s' is not a worker number (0 to 65535)", eq);
            o->inject_worker = (int)u;
            worker = 1;
        } else if (strcmp(item, "task") == 0 && !task && !after) {
            if (parse_u64(eq, (uint64_t)1 << 40, &u) != 0 || u == 0)
                return FAIL("--inject: task '%s' is not a task number (1 for the first)", eq);
            o->inject_task = u;
            task = 1;
        } else if (strcmp(item, "after") == 0 && !task && !after) {
            if (parse_seconds(eq, 1e6, &o->inject_after) != 0)
                return FAIL("--inject: after '%s' is not a time (seconds, or Tms)", eq);
            after = 1;
        } else {
            goto bad;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    if (worker && (task || after))
        return 0;
bad:
    o->inject = TVP_INJECT_NONE;
    return FAIL("--inject: '%s' is not crash|hang:worker=I,task=K or crash|hang:worker=I,after=T "
                "(seconds; Tms: milliseconds)", what);
}

static const char *const schedule_names[] = {"static", "dynamic"};
static const char *const data_names[] = {"local", "scatter"};
static const char *const ipc_names[] = {"pipe", "shm"};
static const char *const bind_names[] = {"auto", "none", "core", "scatter", "list"};
static const char *const format_names[] = {"text", "csv", "json"};

const char *tvp_schedule_name(enum tvp_schedule s) { return schedule_names[s]; }
const char *tvp_data_name(enum tvp_data d) { return data_names[d]; }
const char *tvp_ipc_name(enum tvp_ipc i) { return ipc_names[i]; }
const char *tvp_bind_name(enum tvp_bind b) { return bind_names[b]; }
const char *tvp_format_name(enum tvp_format f) { return format_names[f]; }

static int parse_bind(struct tvp_options *o, const char *s, char *err, size_t errlen)
{
    int c = parse_choice(s, bind_names, 4);
    if (c >= 0) {
        o->bind = (enum tvp_bind)c;
        return 0;
    }
    if (!s || strncmp(s, "list:", 5) != 0)
        return FAIL("--bind: '%s' is not none, core, scatter or list:PU,PU,...", s ? s : "");
    o->bind = TVP_BIND_LIST;
    o->bind_count = 0;
    const char *p = s + 5;
    for (;;) {
        char item[32];
        size_t len = strcspn(p, ",");
        uint64_t pu;
        if (len == 0 || len >= sizeof item)
            return FAIL("--bind: '%s' has an empty or overlong PU number", s);
        memcpy(item, p, len);
        item[len] = 0;
        if (parse_u64(item, 1u << 20, &pu) != 0)
            return FAIL("--bind: '%s' is not a PU number", item);
        if (o->bind_count == TVP_BIND_LIST_MAX)
            return FAIL("--bind: more than %d PUs listed", TVP_BIND_LIST_MAX);
        o->bind_list[o->bind_count++] = (int)pu;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

int tvp_options_parse(struct tvp_options *o, int argc, char **argv, char *err, size_t errlen)
{
    err[0] = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            o->version = 1;
            continue;
        }
        if (strcmp(a, "--verify") == 0) {
            o->verify = 1;
            continue;
        }
        if (strcmp(a, "--inverse") == 0) {
            o->inverse = 1;
            o->given |= TVP_OPT_INVERSE;
            continue;
        }
        if (a[0] != '-') {
            if (o->workload && strcmp(o->workload, "probe") == 0 && !o->probe) {
                o->probe = a; /* probes: tvp-BACKEND probe NAME */
                continue;
            }
            if (o->workload)
                return FAIL("unexpected argument '%s' (workload is already '%s')", a, o->workload);
            o->workload = a;
            continue;
        }
        /* every other option takes a value: --opt V or --opt=V */
        const char *eq = strchr(a, '=');
        char name[32];
        const char *v;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof name)
            return FAIL("unknown option '%s' (see --help)", a);
        memcpy(name, a, nlen);
        name[nlen] = 0;
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            v = NULL;
        uint64_t u;
        int c;
        if (!o->run_opt && !probe_takes(name)) { /* probes: refused by the driver */
            o->run_opt = a;
            o->run_opt_len = (int)nlen;
        }
        /* ---- probes ---- */
        if (strcmp(name, "--outer") == 0) {
            if (parse_u64(v, 1000000, &u) != 0 || u == 0)
                return FAIL("--outer: '%s' is not a whole number from 1 to 1000000", v ? v : "");
            o->outer = (int)u;
            o->given |= TVP_OPT_OUTER;
            continue;
        }
        if (strcmp(name, "--target-ms") == 0) {
            char *end = NULL;
            double x = v && *v ? strtod(v, &end) : -1;
            if (!v || !*v || *end || !(x > 0 && x <= 60000))
                return FAIL("--target-ms: '%s' is not a number of milliseconds above 0, at "
                            "most 60000", v ? v : "");
            o->target_ms = x;
            o->given |= TVP_OPT_TARGET_MS;
            continue;
        }
        if (strcmp(name, "--max-size") == 0) {
            if (parse_bytes(v, (uint64_t)1 << 34, &u) != 0 || u == 0)
                return FAIL("--max-size: '%s' is not a size from 1 byte to 16Gi (suffixes k, "
                            "M, G, Ki, Mi, Gi)", v ? v : "");
            o->max_size = u;
            o->given |= TVP_OPT_MAX_SIZE;
            continue;
        }
        if (strcmp(name, "--touch") == 0 || strcmp(name, "--size-mib") == 0) {
            int touch = name[2] == 't';
            if (parse_u64(v, (uint64_t)1 << 20, &u) != 0 || (!touch && u == 0))
                return FAIL("%s: '%s' is not a whole number of MiB from %d to 1048576", name,
                            v ? v : "", touch ? 0 : 1);
            *(touch ? &o->touch_mib : &o->size_mib) = u;
            o->given |= touch ? TVP_OPT_TOUCH : TVP_OPT_SIZE_MIB;
            continue;
        }
        /* ---- end probes ---- */
        if (strcmp(name, "--n") == 0) {
            if (parse_u64(v, (uint64_t)1 << 56, &u) != 0 || u == 0)
                return FAIL("--n: '%s' is not a positive whole number", v ? v : "");
            o->n = u;
            o->n_set = 1;
            o->given |= TVP_OPT_N;
        } else if (strcmp(name, "--seed") == 0) {
            if (parse_u64(v, UINT64_MAX, &u) != 0)
                return FAIL("--seed: '%s' is not a non-negative whole number", v ? v : "");
            o->seed = u;
        } else if (strcmp(name, "--in") == 0) {
            if (!v || !*v)
                return FAIL("--in: a file name is needed");
            o->in_path = v;
        } else if (strcmp(name, "--workers") == 0) {
            if (parse_u64(v, 65536, &u) != 0 || u == 0)
                return FAIL("--workers: '%s' is not a whole number from 1 to 65536", v ? v : "");
            o->workers = (int)u;
        } else if (strcmp(name, "--chunk") == 0) {
            if (parse_u64(v, (uint64_t)1 << 40, &u) != 0 || u == 0)
                return FAIL("--chunk: '%s' is not a positive whole number", v ? v : "");
            o->chunk = u;
            o->given |= TVP_OPT_CHUNK;
        } else if (strcmp(name, "--repeat") == 0) {
            if (parse_u64(v, 1000000, &u) != 0 || u == 0)
                return FAIL("--repeat: '%s' is not a whole number from 1 to 1000000", v ? v : "");
            o->repeat = (int)u;
        } else if (strcmp(name, "--warmup") == 0) {
            if (parse_u64(v, 1000000, &u) != 0)
                return FAIL("--warmup: '%s' is not a whole number from 0 to 1000000", v ? v : "");
            o->warmup = (int)u;
        } else if (strcmp(name, "--schedule") == 0) {
            if ((c = parse_choice(v, schedule_names, 2)) < 0)
                return FAIL("--schedule: '%s' is not static or dynamic", v ? v : "");
            o->schedule = (enum tvp_schedule)c;
        } else if (strcmp(name, "--data") == 0) {
            if ((c = parse_choice(v, data_names, 2)) < 0)
                return FAIL("--data: '%s' is not local or scatter", v ? v : "");
            o->data = (enum tvp_data)c;
        } else if (strcmp(name, "--ipc") == 0) {
            if ((c = parse_choice(v, ipc_names, 2)) < 0)
                return FAIL("--ipc: '%s' is not pipe or shm", v ? v : "");
            o->ipc = (enum tvp_ipc)c;
        } else if (strcmp(name, "--format") == 0) {
            if ((c = parse_choice(v, format_names, 3)) < 0)
                return FAIL("--format: '%s' is not text, csv or json", v ? v : "");
            o->format = (enum tvp_format)c;
        } else if (strcmp(name, "--bind") == 0) {
            int r = parse_bind(o, v, err, errlen);
            if (r)
                return r;
        } else if (strcmp(name, "--out") == 0) {
            if (!v || !*v)
                return FAIL("--out: a file name is needed");
            o->out_path = v;
        } else if (strcmp(name, "--record") == 0) {
            if (!v || !*v)
                return FAIL("--record: a file name is needed");
            o->record_path = v;
        } else if (strcmp(name, "--filter") == 0) {
            if (!v || !*v)
                return FAIL("--filter: a filter name is needed (see --help)");
            o->filters = v;
            o->given |= TVP_OPT_FILTER;
        } else if (strcmp(name, "--iterations") == 0) {
            if (parse_u64(v, 1000000, &u) != 0 || u == 0)
                return FAIL("--iterations: '%s' is not a whole number from 1 to 1000000", v ? v : "");
            o->iterations = (int)u;
            o->given |= TVP_OPT_ITERATIONS;
        } else if (strcmp(name, "--width") == 0 || strcmp(name, "--height") == 0) {
            if (parse_u64(v, UINT32_MAX, &u) != 0 || u == 0)
                return FAIL("%s: '%s' is not a whole number from 1 to %u", name, v ? v : "",
                            UINT32_MAX);
            *(name[2] == 'w' ? &o->width : &o->height) = (uint32_t)u;
            o->given |= name[2] == 'w' ? TVP_OPT_WIDTH : TVP_OPT_HEIGHT;
        } else if (strcmp(name, "--channels") == 0) {
            if (!v || (strcmp(v, "1") != 0 && strcmp(v, "3") != 0))
                return FAIL("--channels: '%s' is not 1 or 3", v ? v : "");
            o->channels = (uint32_t)(v[0] - '0');
            o->given |= TVP_OPT_CHANNELS;
        } else if (strcmp(name, "--max-pixels") == 0) {
            if (parse_u64(v, UINT64_MAX, &u) != 0 || u == 0)
                return FAIL("--max-pixels: '%s' is not a positive whole number", v ? v : "");
            o->max_pixels = u;
            o->given |= TVP_OPT_MAX_PIXELS;
        } else if (strcmp(name, "--rows") == 0) {
            if (parse_u64(v, (uint64_t)1 << 40, &u) != 0)
                return FAIL("--rows: '%s' is not a whole number from 0 to 2^40", v ? v : "");
            o->rows = u;
            o->given |= TVP_OPT_ROWS;
        } else if (strcmp(name, "--columns-count") == 0) {
            if (parse_u64(v, 4096, &u) != 0 || u == 0)
                return FAIL("--columns-count: '%s' is not a whole number from 1 to 4096", v ? v : "");
            o->columns_count = (uint32_t)u;
            o->given |= TVP_OPT_COLUMNS_COUNT;
        } else if (strcmp(name, "--cardinality") == 0) {
            if (parse_u64(v, 100000000, &u) != 0 || u == 0) /* skewed: 8 bytes a label of CDF */
                return FAIL("--cardinality: '%s' is not a whole number from 1 to 100000000",
                            v ? v : "");
            o->cardinality = (uint32_t)u;
            o->given |= TVP_OPT_CARDINALITY;
        } else if (strcmp(name, "--skew") == 0) {
            char *end = NULL;
            double x = v && *v ? strtod(v, &end) : -1;
            if (!v || !*v || *end || !(x >= 0 && x <= 100))
                return FAIL("--skew: '%s' is not a number from 0 (uniform) to 100", v ? v : "");
            o->skew = x;
            o->given |= TVP_OPT_SKEW;
        } else if (strcmp(name, "--columns") == 0) {
            if (!v || !*v)
                return FAIL("--columns: a list of column names is needed (a,b,...)");
            o->columns = v;
            o->given |= TVP_OPT_COLUMNS;
        } else if (strcmp(name, "--classes-in") == 0 || strcmp(name, "--classes-out") == 0) {
            if (!v || !*v)
                return FAIL("%s: a file name is needed", name);
            *(name[10] == 'i' ? &o->classes_in : &o->classes_out) = v;
            o->given |= name[10] == 'i' ? TVP_OPT_CLASSES_IN : TVP_OPT_CLASSES_OUT;
        } else if (strcmp(name, "--inject") == 0) {
            int r = parse_inject(o, v, err, errlen);
            if (r)
                return r;
        } else if (strcmp(name, "--task-timeout") == 0) {
            double x = 0;
            if (parse_seconds(v, 1e6, &x) != 0 || x <= 0)
                return FAIL("--task-timeout: '%s' is not a time above 0 (seconds, or Sms)",
                            v ? v : "");
            o->task_timeout = x;
        } else if (strcmp(name, "--delimiter") == 0) {
            char c = !v ? 0 : strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0 ? '\t'
                              : strlen(v) == 1 ? v[0] : 0;
            if (!c || c == '"' || c == '\r' || c == '\n')
                return FAIL("--delimiter: '%s' is not one character (or tab) other than '\"', "
                            "CR and LF", v ? v : "");
            o->delimiter = c;
            o->given |= TVP_OPT_DELIMITER;
        } else {
            return FAIL("unknown option '%s' (see --help)", name);
        }
    }
    if (!o->workload && !o->help && !o->version)
        return FAIL("no workload given (try: squares; see --help)");
    return 0;
}
