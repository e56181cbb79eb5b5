/* Replaces itself with argv[2] (life_child, a path with a slash) through an environment
 * without what gpa run set, the way argv[1] names: "execle" (envp holds MINE=1 only),
 * "clearenv-execvp" (clearenv() then execvp), "execve-empty" (an empty envp). Leaks 8 bytes
 * first (no leak verdict at exec, under either tool). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char *child = argv[2];
    char *mine[] = {"MINE=1", NULL};
    char *empty[] = {NULL};
    char *args[] = {child, argv[1], NULL};
    char *lost = malloc(8);
    memset(lost, 1, 8);
    lost = NULL;
    fflush(stdout);
    if (!strcmp(argv[1], "execle")) {
        execle(child, child, argv[1], (char *)NULL, mine);
    } else if (!strcmp(argv[1], "clearenv-execvp")) {
        clearenv();
        execvp(child, args);
    } else {
        execve(child, args, empty);
    }
    perror("exec");
    return 1;
}
