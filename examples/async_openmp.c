/* Pool.apply_async and AsyncResult.get as OpenMP tasks: one thread creates the tasks,
 * the team runs them, taskwait waits for all of them (OpenMP has no get with a timeout,
 * nor a way to wait for one task among others without depend clauses).
 *
 *   with Pool(4) as pool:
 *       results = [pool.apply_async(square, (x,)) for x in range(5)]
 *       print([r.get() for r in results])
 */
#include <stdint.h>
#include <stdio.h>

static int64_t square(int64_t x)
{
    return x * x;
}

int main(void)
{
    int64_t results[5];
#pragma omp parallel num_threads(4)
#pragma omp single /* one thread submits, every thread of the team may run the tasks */
    {
        for (int x = 0; x < 5; x++) {
#pragma omp task firstprivate(x) shared(results) /* apply_async: x copied, like the args */
            results[x] = square(x);
        }
#pragma omp taskwait /* [r.get() for r in results] */
    }
    printf("[");
    for (int i = 0; i < 5; i++)
        printf("%s%lld", i ? ", " : "", (long long)results[i]);
    printf("]\n");
    return 0;
}
