/* Pool.apply_async and AsyncResult.get in MPI: rank 0 hands one task to every other
 * rank with MPI_Isend and posts an MPI_Irecv for its result at once, without waiting;
 * the MPI_Request is the AsyncResult.  get(timeout) is MPI_Test until a deadline,
 * get() is MPI_Wait.  mpirun -np P, P >= 2.
 *
 *   with Pool(P - 1) as pool:
 *       results = [pool.apply_async(square, (10 * w,)) for w in range(1, P)]
 *       print([r.get(timeout=5) for r in results])
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* AsyncResult.get(timeout): 1 when the request completed within timeout seconds */
static int get(MPI_Request *req, double timeout)
{
    double end = MPI_Wtime() + timeout;
    int done = 0;
    while (!done && MPI_Wtime() < end)
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
    return done;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        fprintf(stderr, "run with mpirun -np 2 or more\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (rank == 0) {
        int64_t *x = malloc(size * sizeof *x), *y = malloc(size * sizeof *y);
        MPI_Request *sent = malloc(size * sizeof *sent), *result = malloc(size * sizeof *result);
        for (int w = 1; w < size; w++) { /* apply_async: returns at once */
            x[w] = 10 * w;
            MPI_Isend(&x[w], 1, MPI_INT64_T, w, 0, MPI_COMM_WORLD, &sent[w]);
            MPI_Irecv(&y[w], 1, MPI_INT64_T, w, 0, MPI_COMM_WORLD, &result[w]);
        }
        printf("[");
        for (int w = 1; w < size; w++) {
            if (!get(&result[w], 5.0)) {
                fprintf(stderr, "rank %d: no result after 5 s\n", w);
                MPI_Abort(MPI_COMM_WORLD, 1); /* a request cannot be dropped: end them all */
            }
            MPI_Wait(&sent[w], MPI_STATUS_IGNORE);
            printf("%s%lld", w > 1 ? ", " : "", (long long)y[w]);
        }
        printf("]\n");
        free(x);
        free(y);
        free(sent);
        free(result);
    } else { /* a worker: one task, its result back */
        int64_t x, y;
        MPI_Recv(&x, 1, MPI_INT64_T, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        y = x * x;
        MPI_Send(&y, 1, MPI_INT64_T, 0, 0, MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return 0;
}
