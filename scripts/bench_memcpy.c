/* The bandwidth reference of `scripts/tvp bench squares`: memcpy of the bytes squares
 * touches.  usage: bench_memcpy N THREADS REPEAT
 *
 * N items of 8 bytes are copied src -> dst, split in balanced blocks over THREADS threads
 * (tvp's partition), each pinned to its own CPU and owning (first-touching) its block's
 * buffers, allocated as tvp does (2 MiB aligned, transparent huge pages advised, zeroed
 * before timing).  One untimed copy, then REPEAT timed ones between barriers.  Bytes
 * moved = read + write = 2 * N * 8, the same count as squares' n * (in + out).
 * Prints one CSV line: threads,n,bytes,median_s,min_s,max_s,gb_per_s (of the median).
 * Built on the fly by scripts/tvp with cc -O3 -march=native; not part of the CMake build. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_ALIGN ((size_t)2 << 20)

static uint64_t n;
static int threads, repeat;
static pthread_barrier_t barrier;
static double *times;
static int failed;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *alloc_touched(size_t bytes, int fill)
{
    size_t align = bytes >= HUGE_ALIGN ? HUGE_ALIGN : 64;
    size_t len = bytes ? (bytes + align - 1) / align * align : align;
    void *p = NULL;
    if (posix_memalign(&p, align, len) != 0)
        return NULL;
    if (align == HUGE_ALIGN)
        (void)madvise(p, len, MADV_HUGEPAGE);
    memset(p, fill, len);
    return p;
}

/* the cpu of the t-th CPU this process may use, or -1 */
static int nth_cpu(int t)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    int count = CPU_COUNT(&set);
    if (count <= 0)
        return -1;
    t %= count;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && t-- == 0)
            return c;
    return -1;
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    int cpu = nth_cpu(t);
    if (cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    }
    uint64_t p = (uint64_t)threads, i = (uint64_t)t, base = n / p, extra = n % p;
    uint64_t items = base + (i < extra ? 1 : 0);
    size_t bytes = (size_t)items * 8;
    char *src = alloc_touched(bytes, 0x5a), *dst = alloc_touched(bytes, 0);
    if (!src || !dst)
        __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
    for (int r = -1; r < repeat; r++) {
        pthread_barrier_wait(&barrier);
        double t0 = now();
        if (src && dst)
            memcpy(dst, src, bytes);
        pthread_barrier_wait(&barrier);
        if (t == 0 && r >= 0)
            times[r] = now() - t0;
    }
    if (src && dst && dst[bytes ? bytes - 1 : 0] != (bytes ? 0x5a : 0))
        __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
    free(src);
    free(dst);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4 || (n = strtoull(argv[1], NULL, 10)) == 0 || (threads = atoi(argv[2])) < 1 ||
        (repeat = atoi(argv[3])) < 1) {
        fprintf(stderr, "usage: bench_memcpy N THREADS REPEAT\n");
        return 2;
    }
    times = calloc((size_t)repeat, sizeof *times);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!times || !tid || pthread_barrier_init(&barrier, NULL, (unsigned)threads) != 0) {
        fprintf(stderr, "bench_memcpy: out of memory\n");
        return 3;
    }
    for (int t = 0; t < threads; t++)
        if ((errno = pthread_create(&tid[t], NULL, worker, (void *)(intptr_t)t)) != 0) {
            perror("bench_memcpy: pthread_create");
            return 3;
        }
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    if (failed) {
        fprintf(stderr, "bench_memcpy: out of memory or a wrong copy\n");
        return 3;
    }
    qsort(times, (size_t)repeat, sizeof *times, cmp);
    double med = repeat % 2 ? times[repeat / 2] : 0.5 * (times[repeat / 2 - 1] + times[repeat / 2]);
    double bytes = 2.0 * 8.0 * (double)n;
    printf("%d,%llu,%.0f,%.9f,%.9f,%.9f,%.3f\n", threads, (unsigned long long)n, bytes, med,
           times[0], times[repeat - 1], bytes / med / 1e9);
    return 0;
}
