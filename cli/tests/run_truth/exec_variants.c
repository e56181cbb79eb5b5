/* Execs through every exec function in a child each, with nine arguments (more than the
 * registers hold, for the variadic ones), and waits; then returns 0. execle passes an
 * environment without LD_PRELOAD: gpa run puts it back, so that child is checked too. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
#define SCRIPT "echo \"$0:$#:$1$2$3$4$5$6$7$8\""
static void run(int which) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *argv[] = {"sh", "-c", SCRIPT, "v", "a", "b", "c", "d", "e", "f", "g", NULL};
        char *bare_env[] = {"PATH=/usr/bin:/bin", NULL};
        switch (which) {
        case 0: execl("/bin/sh", "sh", "-c", SCRIPT, "l", "a", "b", "c", "d", "e", "f", "g", (char *)NULL); break;
        case 1: execlp("sh", "sh", "-c", SCRIPT, "lp", "a", "b", "c", "d", "e", "f", "g", (char *)NULL); break;
        case 2: execle("/bin/sh", "sh", "-c", SCRIPT, "le", "a", "b", "c", "d", "e", "f", "g", (char *)NULL, bare_env); break;
        case 3: argv[3] = "v"; execv("/bin/sh", argv); break;
        case 4: argv[3] = "vp"; execvp("sh", argv); break;
        case 5: argv[3] = "vpe"; execvpe("sh", argv, environ); break;
        case 6: argv[3] = "ve"; execve("/bin/sh", argv, environ); break;
        }
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
}
int main(void) {
    for (int which = 0; which < 7; which++) run(which);
    return 0;
}
