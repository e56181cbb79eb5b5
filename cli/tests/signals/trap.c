/* SIGTRAP: gpa steps over faults with the single-step trap, so it handles SIGTRAP too; the
 * program's own traps (a handler of its own, or the default action) are unchanged. A read after
 * free first (guard mode faults on it and goes on). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static volatile int trapped;
static void on_trap(int s) { (void)s; trapped++; }
int main(int argc, char **argv) {
    char *block = malloc(32);
    strcpy(block, "abc");
    free(block);
    int peek = block[1];
    if (argc > 1 && strcmp(argv[1], "handled") == 0) signal(SIGTRAP, on_trap);
    raise(SIGTRAP);
    printf("trapped %d peek %d\n", trapped, peek);
    return 0;
}
