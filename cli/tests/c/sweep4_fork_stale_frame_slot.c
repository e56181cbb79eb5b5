/* Python's multiprocessing.Process child, reduced (docs/sweeps/servers.md item 6): the only
 * pointer the child drops has a stale copy in a slot of a live frame that the frame never
 * wrote. main keeps a 32-byte block in a global; a function called first (`leave_copies`)
 * puts 64 copies of the pointer in its frame and returns; the next function called from main
 * (`run`, the frame that lives until the end, as CPython's _PyRun_SimpleFileObject does) has
 * a 512-byte local it never writes, over the same addresses, and forks from there. The child
 * replaces the block (as PyOS_AfterFork_Child's _PyThread_at_fork_reinit replaces a lock and
 * drops the old one on purpose) and ends with _exit from inside `run`. Valgrind 3.19, child:
 * 32 bytes in 1 blocks definitely lost, 32 still reachable (memcheck made `run`'s slots
 * undefined when the frame was made, and skips undefined words); parent: 32 bytes still
 * reachable. gpa cannot tell a written slot of a live frame from an unwritten one: the child
 * has both blocks still reachable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *volatile keep;

__attribute__((noinline)) static void leave_copies(char *block) {
    char *volatile copies[64];
    for (int i = 0; i < 64; i++) copies[i] = block;
}

__attribute__((noinline)) static int run(void) {
    volatile char unwritten[512];
    unwritten[511] = 0;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        keep = malloc(32);
        memset(keep, 'n', 32);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
    return 0;
}

int main(void) {
    keep = malloc(32);
    memset(keep, 'o', 32);
    leave_copies(keep);
    return run();
}
