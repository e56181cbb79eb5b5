/* Starts its children every way glibc offers: system(), popen(), posix_spawn() of argv[1],
 * fork + execvp, vfork + a failing execve + _exit(127); then leaks 44 bytes and returns 0. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static void leak_site(void) { char *p = malloc(44); memset(p, 1, 44); }
int main(int argc, char **argv) {
    int status;
    if (system("true") != 0) return 10;
    FILE *pipe = popen("echo popen-ran", "r");
    char line[64] = {0};
    if (!pipe || !fgets(line, sizeof line, pipe)) return 11;
    pclose(pipe);
    fputs(line, stdout);
    fflush(stdout);
    if (argc > 1) {
        pid_t child;
        char *args[] = {argv[1], NULL};
        if (posix_spawn(&child, argv[1], NULL, NULL, args, environ) != 0) return 12;
        waitpid(child, &status, 0);
    }
    pid_t forked = fork();
    if (forked == 0) {
        char *args[] = {"true", NULL};
        execvp("true", args);
        _exit(126);
    }
    waitpid(forked, &status, 0);
    pid_t vforked = vfork();
    if (vforked == 0) {
        char *args[] = {"/nonexistent/program", NULL};
        execve("/nonexistent/program", args, environ);
        _exit(127);
    }
    waitpid(vforked, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 127) return 13;
    leak_site();
    puts("spawned all");
    return 0;
}
