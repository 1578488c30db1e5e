/* Process(target=f, args=("bob",)).start(), then .join(), as an OpenMP task: a thread of
 * the team runs it (same memory, nothing copied), taskwait is the join.
 *
 *   def f(name): print("hello", name)
 *   p = Process(target=f, args=("bob",)); p.start(); p.join()
 */
#include <omp.h>
#include <stdio.h>

static void f(const char *name)
{
    printf("hello %s from a thread of the team\n", name);
}

int main(void)
{
    int done = 0;
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task shared(done) /* start() */
        {
            f("bob");
            done = 1; /* a thread writes our memory: no pipe, no result to send */
        }
#pragma omp taskwait /* join() */
        printf("joined: done = %d\n", done);
    }
    return done ? 0 : 1;
}
