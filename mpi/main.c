/* tvp-mpi: the shared driver over the MPI backend (mpi.c). */
#include "backend.h"

extern const struct tvp_backend tvp_backend_mpi;

int main(int argc, char **argv)
{
    return tvp_driver_main(argc, argv, &tvp_backend_mpi);
}
