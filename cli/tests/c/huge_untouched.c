/* Huge blocks never touched but for one page, at exit (cli/tests/exit_huge.rs).
 *
 * Four blocks of `argv[1]` MiB (default 16384: 16 GiB each as in Toyota ITC's
 * memory_allocation_failure_003, granted by overcommit; halved until malloc grants them, the
 * size used is printed). A pointer to a small block is stored in a
 * page in the middle of two of them, the only pointer to it each time: of huge[0], kept
 * reachable by a global (its small block is then still reachable), and of huge[1], leaked
 * (its small block indirectly lost). huge[2] is leaked untouched, huge[3] freed.
 *
 * Valgrind 3.19 refuses blocks this large; with `1024` (1 GiB blocks) it says
 * (--leak-check=full --show-leak-kinds=all):
 *   definitely lost: 1,073,741,824 bytes in 1 blocks
 *   indirectly lost: 0 bytes in 0 blocks
 *     possibly lost: 1,073,741,864 bytes in 2 blocks
 *   still reachable: 1,073,741,848 bytes in 2 blocks
 * huge[1] and its 40-byte block "possibly lost" because of two words of Valgrind's own
 * preload library pointing inside huge[1] (cli/tests/exit_huge.rs says more).
 *
 * With `confined` after the size, the program then installs a seccomp filter that refuses
 * open, openat and pread64 with EACCES (allowing the rest), so that /proc/self/pagemap cannot
 * be read at exit.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static char *kept;

/* Stores `pointer` in the middle of `block` (`size` bytes): the only page of it touched. */
static void store_in_middle(char *block, size_t size, void *pointer) {
    memcpy(block + size / 2, &pointer, sizeof pointer);
}

#define REFUSE(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                   BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13 /* EACCES */)

static struct sock_filter rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    REFUSE(SYS_open), REFUSE(SYS_openat), REFUSE(SYS_pread64),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static int confine(void) {
    struct sock_fprog program = {sizeof rules / sizeof rules[0], rules};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16384;
    char *huge[4];
    size_t size;
    for (;;) {
        size = mib << 20;
        int got = 0;
        while (got < 4 && (huge[got] = malloc(size)) != NULL)
            got++;
        if (got == 4)
            break;
        while (got > 0)
            free(huge[--got]);
        if (mib <= 1024) {
            printf("malloc of %zu MiB failed\n", mib);
            return 1;
        }
        mib /= 2;
    }
    store_in_middle(huge[0], size, malloc(24));
    store_in_middle(huge[1], size, malloc(40));
    kept = huge[0];
    free(huge[3]);
    huge[0] = huge[1] = huge[2] = huge[3] = NULL;
    if (argc > 2 && strcmp(argv[2], "confined") == 0 && confine() != 0) {
        printf("no seccomp filter\n");
        return 2;
    }
    printf("blocks of %zu MiB\n", mib);
    return 0;
}
