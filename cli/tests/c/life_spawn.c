/* Starts argv[2] (life_child) the way argv[1] names and waits for it: "spawnp"
 * (posix_spawnp by name, PATH searched), "vfork" (vfork then execv), "system", "popen"
 * (copies the child's output). Leaks 8 bytes itself; exits with the child's status. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *way = argv[1];
    char *child = argv[2];
    char *args[] = {child, (char *)way, NULL};
    char *lost = malloc(8);
    memset(lost, 6, 8);
    lost = NULL;
    fflush(stdout);
    int status = 0;
    if (!strcmp(way, "spawnp")) {
        pid_t pid;
        if (posix_spawnp(&pid, child, NULL, NULL, args, environ) != 0) return 90;
        waitpid(pid, &status, 0);
    } else if (!strcmp(way, "vfork")) {
        pid_t pid = vfork();
        if (pid == 0) {
            execv(child, args);
            _exit(127);
        }
        waitpid(pid, &status, 0);
    } else if (!strcmp(way, "system")) {
        char line[4096];
        snprintf(line, sizeof line, "%s system", child);
        status = system(line);
    } else {
        char line[4096];
        snprintf(line, sizeof line, "%s popen", child);
        FILE *p = popen(line, "r");
        if (!p) return 91;
        char buf[256];
        while (fgets(buf, sizeof buf, p)) fputs(buf, stdout);
        status = pclose(p);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
