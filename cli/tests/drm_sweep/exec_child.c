/* After Dr. Memory's tests/execve.c (DynamoRIO/drmemory): a forked child runs a program (the
 * first argument) by execve with an empty environment; the parent waits for it. Written for
 * gpa; no upstream code. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("ERROR: not enough args\n");
        return 1;
    }
    printf("parent is running\n");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *args[] = {argv[1], NULL};
        char *env[] = {NULL};
        execve(argv[1], args, env);
        perror("execve");
        return 1;
    }
    int status = 0;
    while (waitpid(child, &status, 0) == -1 && errno == EINTR)
        ;
    printf("child has exited with %d\n", WEXITSTATUS(status));
    return 0;
}
