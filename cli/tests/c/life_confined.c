/* A program that confines itself after start-up, as sandboxed daemons do
 * (cli/tests/lifecycle.rs, docs/sweeps/lifecycle.md item 12). Ways:
 *   seccomp    installs a seccomp filter with prctl(PR_SET_SECCOMP) that allows only what
 *              a small sandboxed worker needs (read, write, brk, mmap, munmap, signals,
 *              futex, getpid/gettid, exit) and refuses everything else with EACCES: open,
 *              mprotect, pread, lseek, fstat, process_vm_readv, getrandom... (sshd's
 *              pre-authentication child refuses open the same way).
 *   syscall    the same filter through syscall(SYS_seccomp), as libseccomp installs it.
 *   jail DIR   chroot into DIR (no /proc there), then fork: the child leaks and keeps a
 *              block of its own, the parent waits.
 * Every way: 40 bytes lost before the confinement, 24 after, 100 kept in a global (all
 * allocated in `allocate`); the jail's child: 32 lost, 48 kept. Prints what it did; exits
 * with status 0 (2 when a step failed). */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void *kept; /* not static: the stores stay */

__attribute__((noinline)) static void *allocate(size_t size) {
    char *block = malloc(size);
    memset(block, 7, size);
    return block;
}

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static struct sock_filter rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_exit), ALLOW(SYS_exit_group),
    ALLOW(SYS_brk), ALLOW(SYS_mmap), ALLOW(SYS_munmap), ALLOW(SYS_rt_sigprocmask),
    ALLOW(SYS_rt_sigaction), ALLOW(SYS_rt_sigreturn), ALLOW(SYS_getpid), ALLOW(SYS_gettid),
    ALLOW(SYS_tgkill), ALLOW(SYS_futex),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13 /* EACCES */),
};

static int sandbox(int through_syscall) {
    struct sock_fprog program = {sizeof rules / sizeof rules[0], rules};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    if (through_syscall) return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: life_confined seccomp|syscall|jail DIR\n");
        return 1;
    }
    void *volatile lost = allocate(40);
    lost = NULL;
    fflush(stdout);
    if (strcmp(argv[1], "seccomp") == 0 || strcmp(argv[1], "syscall") == 0) {
        if (sandbox(strcmp(argv[1], "syscall") == 0) != 0) return 2;
    } else if (strcmp(argv[1], "jail") == 0 && argc > 2) {
        if (chroot(argv[2]) != 0 || chdir("/") != 0) return 2;
        pid_t child = fork();
        if (child == 0) {
            lost = allocate(32);
            lost = NULL;
            kept = allocate(48);
            exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
    } else {
        return 1;
    }
    lost = allocate(24);
    lost = NULL;
    kept = allocate(100);
    static const char done[] = "confined\n";
    write(1, done, sizeof done - 1);
    return 0;
}
