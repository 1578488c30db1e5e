/* Four processes that each print a different number, with fork() and waitpid().
 * The lines come in whatever order the processes run.
 *
 *   procs = [Process(target=print, args=(i,)) for i in range(4)]
 *   for p in procs: p.start()
 *   for p in procs: p.join()
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pid_t pid[4];
    fflush(stdout); /* else every child would print our buffered output again */
    for (int i = 0; i < 4; i++) {
        pid[i] = fork();
        if (pid[i] < 0) {
            perror("fork");
            return 1; /* the children started so far end on their own */
        }
        if (pid[i] == 0) { /* the child: a copy of us, with its own i */
            printf("worker %d\n", i);
            fflush(stdout);
            _exit(0);
        }
    }
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        int status;
        if (waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) || WEXITSTATUS(status))
            failed = 1;
    }
    return failed;
}
