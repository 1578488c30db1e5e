/* Pool.map with tvp_pool_map (posix/pool.h): the list goes to 4 worker processes in
 * chunks, through pipes, and the squares come back in order.
 *
 *   def square(x): return x * x
 *   with Pool(4) as pool:
 *       print(pool.map(square, range(12)))
 */
#include <stdint.h>
#include <stdio.h>

#include "pool.h"

/* runs in a worker, on one chunk: count inputs at in, count results to out */
static int square(const void *in, void *out, size_t count, void *arg)
{
    (void)arg;
    const int64_t *x = in;
    int64_t *y = out;
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * x[i];
    return 0; /* non-zero: the map fails, naming this chunk */
}

int main(void)
{
    enum { N = 12 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i;

    struct tvp_pool *pool = tvp_pool_create(4, NULL); /* Pool(4): forks 4 workers */
    if (!pool) {
        perror("tvp_pool_create");
        return 1;
    }
    /* chunksize 0: about N / (4 * workers) items per chunk, as Python chooses */
    int err = tvp_pool_map(pool, square, in, out, N, sizeof in[0], sizeof out[0], 0, NULL);
    if (err) /* a worker died, timed out or square failed: the error names the chunk */
        fprintf(stderr, "map: %s\n", tvp_pool_last_error(pool));
    tvp_pool_close(pool); /* the with-block's end: close, join */
    if (!err && (err = tvp_pool_join(pool)))
        fprintf(stderr, "join: %s\n", tvp_pool_last_error(pool));
    tvp_pool_destroy(pool);
    if (err)
        return 1;

    printf("[");
    for (int i = 0; i < N; i++)
        printf("%s%lld", i ? ", " : "", (long long)out[i]);
    printf("]\n");
    return 0;
}
