/* Four processes that each print a different number: mpirun -np 4 starts them, each
 * prints its rank.  The lines come in whatever order mpirun forwards them.
 *
 *   procs = [Process(target=print, args=(i,)) for i in range(4)]
 *   for p in procs: p.start()
 *   for p in procs: p.join()
 */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    printf("worker %d\n", rank);
    MPI_Finalize();
    return 0;
}
