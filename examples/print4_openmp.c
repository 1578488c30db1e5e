/* Four threads that each print a different number: a parallel region of 4 threads.
 * The lines come in whatever order the threads run.
 *
 *   procs = [Process(target=print, args=(i,)) for i in range(4)]
 *   for p in procs: p.start()
 *   for p in procs: p.join()
 */
#include <omp.h>
#include <stdio.h>

int main(void)
{
    int team = 0;
#pragma omp parallel num_threads(4) /* start() x 4 */
    {
        printf("worker %d\n", omp_get_thread_num());
#pragma omp single
        team = omp_get_num_threads();
    } /* the end of the region: join() x 4 */
    return team == 4 ? 0 : 1;
}
