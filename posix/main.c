/* tvp-posix: the workload in a pool of fork()ed worker processes (posix.c). */
#include "backend.h"

extern const struct tvp_backend tvp_backend_posix;

int main(int argc, char **argv)
{
    return tvp_driver_main(argc, argv, &tvp_backend_posix);
}
