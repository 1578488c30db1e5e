/* Pool.apply_async and AsyncResult.get with tvp_pool_apply_async and tvp_result_get
 * (posix/pool.h): each call is one task for whichever worker process is free; get waits
 * for its result, for at most a timeout.
 *
 *   with Pool(4) as pool:
 *       results = [pool.apply_async(square, (x,)) for x in range(5)]
 *       print([r.get(timeout=1) for r in results])
 *       slow = pool.apply_async(slow_square, (20,))
 *       try:
 *           slow.get(timeout=0.1)
 *       except TimeoutError:
 *           print("not ready after 0.1 s")
 *       print(slow.get())
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pool.h"

/* a task: count (here 1) items in, as many results out */
static int square(const void *in, void *out, size_t count, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < count; i++)
        ((int64_t *)out)[i] = ((const int64_t *)in)[i] * ((const int64_t *)in)[i];
    return 0;
}

static int slow_square(const void *in, void *out, size_t count, void *arg)
{
    struct timespec second = {1, 0};
    nanosleep(&second, NULL);
    return square(in, out, count, arg);
}

int main(void)
{
    struct tvp_pool *pool = tvp_pool_create(4, NULL);
    if (!pool) {
        perror("tvp_pool_create");
        return 1;
    }
    struct tvp_task *results[5];
    for (int64_t x = 0; x < 5; x++) /* the input is copied: x may change at once */
        results[x] = tvp_pool_apply_async(pool, square, &x, sizeof x, sizeof(int64_t), NULL);

    int failed = 0;
    printf("[");
    for (int i = 0; i < 5; i++) {
        int64_t y = -1;
        int err = results[i] ? tvp_result_get(results[i], &y, 1.0) : TVP_ENOMEM;
        if (err) { /* TVP_ETIMEOUT, or how the task failed (the worker's death, ...) */
            fprintf(stderr, "get: %s\n", tvp_pool_last_error(pool));
            failed = 1;
        }
        printf("%s%lld", i ? ", " : "", (long long)y);
        tvp_task_free(results[i]);
    }
    printf("]\n");

    int64_t x = 20, y = -1;
    struct tvp_task *slow = tvp_pool_apply_async(pool, slow_square, &x, sizeof x, sizeof y, NULL);
    if (!slow)
        return 1;
    if (tvp_result_get(slow, &y, 0.1) == TVP_ETIMEOUT)
        printf("not ready after 0.1 s\n"); /* the task goes on; ask again */
    if (tvp_result_get(slow, &y, -1) != 0) { /* no time limit */
        fprintf(stderr, "get: %s\n", tvp_pool_last_error(pool));
        failed = 1;
    }
    printf("%lld\n", (long long)y);
    tvp_task_free(slow);

    tvp_pool_close(pool);
    if (tvp_pool_join(pool) != 0) {
        fprintf(stderr, "join: %s\n", tvp_pool_last_error(pool));
        failed = 1;
    }
    tvp_pool_destroy(pool);
    return failed;
}
