/* execve calls the kernel refuses with EFAULT, the program going on after each, as in
 * Valgrind's execve1.c: (1) a null path and argument and environment arrays holding a wild
 * pointer (execve1.c itself); (2) a good path and arguments with one wild string in the
 * environment, after a good one; (3) a good path with a wild environment array; (4) a wild
 * path; (5) posix_spawn with the environment of (2). gpa's execve read the environment's strings to put its settings back and faulted on
 * the wild pointer: the program died of SIGSEGV under gpa run (exit 139).
 *
 * Without gpa (glibc, the oracle for C semantics): "done -1 1" four times, then
 * "spawn 14" (posix_spawn returns EFAULT), exit 0.
 * Valgrind 3.19 (valgrind --leak-check=full, with or without --trace-children=yes) reports
 * errors gpa does not claim to check ("Syscall param execve(filename) points to
 * unaddressable byte(s)", the same for argv[0] and twice for envp[i]) on (1) and (2), then
 * itself dies on (3), the wild environment array: "valgrind: the 'impossible' happened:
 * Killed by fatal signal" in syscall 59. On (1) alone (its execve1.c) it goes on, exit 0. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(int result) { printf("done %d %d\n", result, errno == EFAULT); }

/* A wild address the compiler cannot see through. */
static volatile unsigned long wild_address = 8;
static void *wild_at(unsigned long offset) { return (void *)(wild_address + offset); }

int main(void) {
    char *wild[2] = {(char *)1, NULL};
    char *path = NULL;
    report(execve(path, wild, wild));
    char *args[2] = {"/bin/true", NULL};
    char *env[3] = {"A=1", wild_at(0), NULL};
    report(execve("/bin/true", args, env));
    report(execve("/bin/true", args, wild_at(8)));
    report(execve(wild_at(16), args, env + 2));
    pid_t child;
    int spawned = posix_spawn(&child, "/bin/true", NULL, NULL, args, env);
    printf("spawn %d\n", spawned);
    return 0;
}
