/* Pool.map in MPI: rank 0 holds the list, MPI_Scatter gives every rank (rank 0 too) an
 * equal part, each squares its part, MPI_Gather puts the squares back in order on rank 0.
 * mpirun -np P, with P dividing 12.
 *
 *   def square(x): return x * x
 *   with Pool(P) as pool:
 *       print(pool.map(square, range(12)))
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

enum { N = 12 };

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (N % size != 0) {
        if (rank == 0)
            fprintf(stderr, "run with a number of ranks that divides %d\n", N);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int64_t in[N], out[N], part[N], sq[N];
    int each = N / size;
    if (rank == 0)
        for (int i = 0; i < N; i++)
            in[i] = i;

    MPI_Scatter(in, each, MPI_INT64_T, part, each, MPI_INT64_T, 0, MPI_COMM_WORLD);
    for (int i = 0; i < each; i++)
        sq[i] = part[i] * part[i];
    MPI_Gather(sq, each, MPI_INT64_T, out, each, MPI_INT64_T, 0, MPI_COMM_WORLD);

    if (rank == 0) {
        printf("[");
        for (int i = 0; i < N; i++)
            printf("%s%lld", i ? ", " : "", (long long)out[i]);
        printf("]\n");
    }
    MPI_Finalize();
    return 0;
}
