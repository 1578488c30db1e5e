/* Process(target=f, args=("bob",)).start(), then .join(), with fork() and waitpid().
 *
 *   def f(name): print("hello", name)
 *   p = Process(target=f, args=("bob",)); p.start(); p.join()
 *   print("exit code", p.exitcode)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void f(const char *name)
{
    printf("hello %s from the worker process\n", name);
}

int main(void)
{
    fflush(stdout); /* else the child would print our buffered output again */
    pid_t pid = fork(); /* start(): the child is a copy of us, f and "bob" included */
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        f("bob");
        fflush(stdout);
        _exit(0); /* never return into main's code, never run atexit handlers twice */
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) { /* join() */
        perror("waitpid");
        return 1;
    }
    if (!WIFEXITED(status)) { /* exitcode < 0 in Python: killed by a signal */
        printf("worker killed by signal %d\n", WTERMSIG(status));
        return 1;
    }
    printf("exit code %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
