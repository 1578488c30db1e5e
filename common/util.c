/* Small shared pieces: errors, the clock, the partition, memory, full reads/writes. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tvp.h"

int tvp_exit_code(int err)
{
    switch (err) {
    case TVP_OK: return TVP_EXIT_OK;
    case TVP_EVERIFY: return TVP_EXIT_VERIFY;
    case TVP_EUSAGE:
    case TVP_EINPUT: return TVP_EXIT_USAGE;
    default: return TVP_EXIT_RUNTIME;
    }
}

int tvp_errorf(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++) /* a path or a library's message cannot break the line */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return rc;
}

const char *tvp_strerror(int err)
{
    switch (err) {
    case TVP_OK: return "ok";
    case TVP_EUSAGE: return "bad usage";
    case TVP_EINPUT: return "bad input";
    case TVP_EVERIFY: return "verification failed";
    case TVP_ENOMEM: return "out of memory";
    case TVP_ESYS: return "system call failed";
    case TVP_EWORKER: return "a worker failed";
    case TVP_ENOSYS: return "not supported";
    default: return "unknown error";
    }
}

double tvp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tvp_partition(uint64_t n, int parts, int index, uint64_t *begin, uint64_t *end)
{
    uint64_t p = parts > 0 ? (uint64_t)parts : 1, i = (uint64_t)index;
    uint64_t base = n / p, extra = n % p;
    *begin = i * base + (i < extra ? i : extra);
    *end = *begin + base + (i < extra ? 1 : 0);
}

uint64_t tvp_chunk_count(uint64_t n, uint64_t chunk)
{
    return chunk ? n / chunk + (n % chunk != 0) : 0;
}

void tvp_chunk_range(uint64_t n, uint64_t chunk, uint64_t k, uint64_t *begin, uint64_t *end)
{
    *begin = k * chunk < n ? k * chunk : n;
    *end = n - *begin > chunk ? *begin + chunk : n;
}

#define TVP_HUGE (2u << 20)

void *tvp_alloc_touched(size_t bytes)
{
    size_t align = bytes >= TVP_HUGE ? TVP_HUGE : 64;
    size_t len = bytes ? (bytes + align - 1) / align * align : align;
    void *p = NULL;
    if (posix_memalign(&p, align, len) != 0)
        return NULL;
    memset(p, 0, len);
    return p;
}

void tvp_free(void *p)
{
    free(p);
}

long tvp_peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

void tvp_chunk_store_init(struct tvp_chunk_store *s, size_t buf_bytes)
{
    memset(s, 0, sizeof *s);
    s->buf_bytes = buf_bytes;
}

void *tvp_chunk_store_take(struct tvp_chunk_store *s, uint64_t k)
{
    if (s->count == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 16;
        void **bufs = realloc(s->bufs, ncap * sizeof *bufs);
        if (!bufs)
            return NULL;
        s->bufs = bufs;
        uint64_t *ids = realloc(s->ids, ncap * sizeof *ids);
        if (!ids)
            return NULL;
        s->ids = ids;
        memset(s->bufs + s->cap, 0, (ncap - s->cap) * sizeof *bufs);
        s->cap = ncap;
    }
    if (!s->bufs[s->count] && !(s->bufs[s->count] = tvp_alloc_touched(s->buf_bytes)))
        return NULL;
    s->ids[s->count] = k;
    return s->bufs[s->count++];
}

void tvp_chunk_store_reset(struct tvp_chunk_store *s)
{
    s->count = 0;
}

void tvp_chunk_store_free(struct tvp_chunk_store *s)
{
    for (size_t i = 0; i < s->cap; i++)
        tvp_free(s->bufs[i]);
    free(s->bufs);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

int tvp_atomic_open(struct tvp_atomic *a, const char *path)
{
    size_t len = strlen(path) + sizeof ".tmp.XXXXXX";
    a->path = path;
    a->f = NULL;
    a->tmp = NULL;
    /* not a file (/dev/null, a FIFO, a terminal): written as it is; renaming a file over
     * it would replace the device (as root, /dev/null itself) */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return TVP_ESYS;
        if (!(a->f = fdopen(fd, "wb"))) {
            int e = errno;
            close(fd);
            errno = e;
            return TVP_ESYS;
        }
        return 0;
    }
    if (!(a->tmp = malloc(len)))
        return TVP_ENOMEM;
    snprintf(a->tmp, len, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(a->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(a->tmp);
        a->tmp = NULL;
        errno = e;
        return TVP_ESYS;
    }
    mode_t mask = umask(0); /* read it back; the process is single-threaded here */
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask); /* mkstemp made it 0600 */
    if (!(a->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        free(a->tmp);
        a->tmp = NULL;
        errno = e;
        return TVP_ESYS;
    }
    return 0;
}

int tvp_atomic_close(struct tvp_atomic *a, int ok)
{
    int e = 0;
    if (!a->tmp) { /* not a file: no fsync, no rename */
        if (ok && (fflush(a->f) != 0 || ferror(a->f)))
            e = errno ? errno : EIO;
        if (fclose(a->f) != 0 && ok && !e)
            e = errno;
        a->f = NULL;
        errno = e;
        return e ? TVP_ESYS : 0;
    }
    if (ok && (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0))
        e = errno ? errno : EIO;
    if (fclose(a->f) != 0 && ok && !e)
        e = errno;
    if (ok && !e && rename(a->tmp, a->path) != 0)
        e = errno;
    if (!ok || e)
        unlink(a->tmp);
    free(a->tmp);
    a->tmp = NULL;
    a->f = NULL;
    errno = e;
    return e ? TVP_ESYS : 0;
}

ssize_t tvp_read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0)
            break;
        else if (errno != EINTR)
            return TVP_ESYS;
    }
    return (ssize_t)got;
}

int tvp_write_full(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        ssize_t w = write(fd, (const char *)buf + put, len - put);
        if (w > 0)
            put += (size_t)w;
        else if (w == 0 || errno != EINTR)
            return TVP_ESYS; /* a write of 0 bytes would loop for ever */
    }
    return 0;
}

int tvp_open_input(const char *path, const char *what, int regular, size_t *size, char *err,
                   size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: cannot open: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode) || (regular && !S_ISREG(sb.st_mode))) {
        int dir = S_ISDIR(sb.st_mode);
        close(fd);
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: %s, not %s", path,
                          dir ? "is a directory" : "not a regular file", what);
    }
    if (size)
        *size = (size_t)sb.st_size;
    return fd;
}

int tvp_read_file(const char *path, const char *what, char **buf, size_t *len, char *err,
                  size_t errlen)
{
    *buf = NULL;
    *len = 0;
    size_t size;
    int fd = tvp_open_input(path, what, 1, &size, err, errlen);
    if (fd < 0)
        return fd;
    char *b = malloc(size + 1);
    if (!b) {
        close(fd);
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory for %zu bytes", path, size);
    }
    ssize_t got = tvp_read_full(fd, b, size);
    int e = errno;
    close(fd);
    if (got < 0) {
        free(b);
        errno = e;
        return tvp_errorf(TVP_ESYS, err, errlen, "%s: cannot read: %s", path, strerror(e));
    }
    b[got] = 0;
    *buf = b;
    *len = (size_t)got;
    return 0;
}

const char *tvp_signal_name(int sig)
{
    static const struct { int sig; const char *name; } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
        {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    return NULL;
}

void tvp_end_text(int signal, int exit_status, char *buf, size_t len)
{
    const char *name = signal > 0 ? tvp_signal_name(signal) : NULL;
    if (name)
        snprintf(buf, len, "killed by %s", name);
    else if (signal > 0)
        snprintf(buf, len, "killed by signal %d", signal);
    else if (exit_status >= 0)
        snprintf(buf, len, "exited with status %d", exit_status);
    else
        snprintf(buf, len, "ended");
}

void tvp_wait_text(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        tvp_end_text(WTERMSIG(status), -1, buf, len);
    else if (WIFEXITED(status))
        tvp_end_text(0, WEXITSTATUS(status), buf, len);
    else
        snprintf(buf, len, "ended (wait status 0x%x)", (unsigned)status);
}
