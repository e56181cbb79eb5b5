/* Clean: fork; the child allocates, frees and exits; the parent waits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    char *before = strdup("allocated before fork");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *mine = malloc(1000);
        memset(mine, 1, 1000);
        free(mine);
        free(before);
        exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    free(before);
    printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}
