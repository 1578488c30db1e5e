/* Process(target=f, args=("bob",)).start(), then .join(), in MPI: mpirun starts every
 * process at once (mpirun -np 2), so rank 1 is the worker, waiting for its arguments;
 * rank 0 sends them (start) and waits for its answer (join).
 *
 *   def f(name): print("hello", name)
 *   p = Process(target=f, args=("bob",)); p.start(); p.join()
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        if (rank == 0)
            fprintf(stderr, "run with mpirun -np 2\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    char name[16];
    int code = 0;
    if (rank == 0) {
        strcpy(name, "bob");
        MPI_Send(name, sizeof name, MPI_CHAR, 1, 0, MPI_COMM_WORLD); /* start() */
        MPI_Recv(&code, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); /* join() */
        printf("exit code %d\n", code);
    } else if (rank == 1) {
        MPI_Recv(name, sizeof name, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        printf("hello %s from rank 1\n", name);
        fflush(stdout);
        MPI_Send(&code, 1, MPI_INT, 0, 0, MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return 0;
}
