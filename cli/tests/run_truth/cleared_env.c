/* Starts argv[2] (child_leak.c) with an environment that lacks what gpa run set, the way
 * argv[1] names: `execle` with `MINE=1` only, `execve` with an empty environment,
 * `clearenv` then `execv`, `posix_spawn` with `MINE=1` only (then waits), `env -i MINE=1`,
 * `fexecve` and `execveat` with an empty environment, a `vfork` child's `execve` with
 * `MINE=1`, a raw `execve` system call with `MINE=1` (which no interposition sees),
 * `execve` with 1100 variables (`huge`: more than gpa restores its settings in), or
 * `execve` with `GPA_REPORT_DIR=argv[3]` (`elsewhere`), or with `MINE=1` and
 * `LD_PRELOAD=libm.so.6` (`own-preload`); or through glibc's own shell starters after
 * `clearenv`: `system` (returns the child's exit status), `popen` (copies the child's
 * output, returns `pclose`'s), `wordexp` of `$(child)` (prints the words), and `system`
 * after `unsetenv("LD_PRELOAD")` (`unsetenv-system`) or `popen` after `environ = NULL`
 * (`null-popen`). Further arguments go to the child. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *way = argv[1], *child = argv[2];
    char *mine[] = {"MINE=1", NULL};
    char *empty[] = {NULL};
    char **args = &argv[2];
    fflush(stdout);
    if (!strcmp(way, "execle")) {
        if (argc > 3) execle(child, child, argv[3], (char *)NULL, mine);
        else execle(child, child, (char *)NULL, mine);
    } else if (!strcmp(way, "own-preload")) {
        char *own[] = {"MINE=1", "LD_PRELOAD=libm.so.6", NULL};
        execve(child, args, own);
    } else if (!strcmp(way, "empty")) {
        execve(child, args, empty);
    } else if (!strcmp(way, "clearenv")) {
        clearenv();
        execv(child, args);
    } else if (!strcmp(way, "spawn")) {
        pid_t pid;
        int status;
        if (posix_spawn(&pid, child, NULL, NULL, args, mine) != 0) return 3;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    } else if (!strcmp(way, "env-i")) {
        if (argc > 3) execl("/usr/bin/env", "env", "-i", "MINE=1", child, argv[3], (char *)NULL);
        else execl("/usr/bin/env", "env", "-i", "MINE=1", child, (char *)NULL);
    } else if (!strcmp(way, "fexecve")) {
        int fd = open(child, O_RDONLY);
        fexecve(fd, args, empty);
    } else if (!strcmp(way, "execveat")) {
        int fd = open(".", O_RDONLY | O_DIRECTORY);
        execveat(fd, child, args, empty, 0);
    } else if (!strcmp(way, "vfork")) {
        int status;
        pid_t pid = vfork();
        if (pid == 0) {
            execve(child, args, mine);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    } else if (!strcmp(way, "huge")) {
        static char *many[1101];
        static char names[1100][16];
        for (int i = 0; i < 1100; i++) {
            snprintf(names[i], sizeof names[i], "V%d=x", i);
            many[i] = names[i];
        }
        execve(child, args, many);
    } else if (!strcmp(way, "elsewhere") && argc > 3) {
        static char setting[4200];
        snprintf(setting, sizeof setting, "GPA_REPORT_DIR=%s", argv[3]);
        char *own[] = {"MINE=1", setting, NULL};
        char *bare[] = {child, NULL};
        execve(child, bare, own);
    } else if (!strcmp(way, "system") || !strcmp(way, "unsetenv-system")) {
        char command[4200];
        snprintf(command, sizeof command, "%s %s", child, argc > 3 ? argv[3] : "");
        if (!strcmp(way, "system")) clearenv();
        else unsetenv("LD_PRELOAD");
        int status = system(command);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    } else if (!strcmp(way, "popen") || !strcmp(way, "null-popen")) {
        char command[4200], line[4200];
        snprintf(command, sizeof command, "%s %s", child, argc > 3 ? argv[3] : "");
        if (!strcmp(way, "popen")) clearenv();
        else environ = NULL;
        FILE *from = popen(command, "r");
        if (!from) return 3;
        while (fgets(line, sizeof line, from)) fputs(line, stdout);
        int status = pclose(from);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    } else if (!strcmp(way, "wordexp")) {
        char words[4200];
        snprintf(words, sizeof words, "$(%s %s)", child, argc > 3 ? argv[3] : "");
        clearenv();
        wordexp_t result;
        int failed = wordexp(words, &result, 0);
        if (failed) return 10 + failed;
        for (size_t i = 0; i < result.we_wordc; i++) puts(result.we_wordv[i]);
        wordfree(&result);
        return 0;
    } else if (!strcmp(way, "raw")) {
        syscall(SYS_execve, child, args, mine);
    }
    perror(way);
    return 5;
}
