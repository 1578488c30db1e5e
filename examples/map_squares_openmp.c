/* Pool.map as an OpenMP parallel for: the threads share in and out, so nothing is sent
 * anywhere; each thread squares its own part of the list in place.
 *
 *   def square(x): return x * x
 *   with Pool(4) as pool:
 *       print(pool.map(square, range(12)))
 */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    enum { N = 12 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++)
        in[i] = i;

#pragma omp parallel for num_threads(4) schedule(static)
    for (int i = 0; i < N; i++)
        out[i] = in[i] * in[i];

    printf("[");
    for (int i = 0; i < N; i++)
        printf("%s%lld", i ? ", " : "", (long long)out[i]);
    printf("]\n");
    return 0;
}
