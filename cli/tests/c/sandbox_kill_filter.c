/* A worker that sandboxes itself as OpenSSH 9.2's pre-authentication child does
 * (sandbox-seccomp-filter.c; docs/sweeps/lifecycle.md item 13): a seccomp filter that allows
 * a short list of system calls (read, write, mmap and mprotect without PROT_EXEC, brk,
 * munmap, futex, getpid, gettid, clock_gettime, rt_sigprocmask, exit, exit_group...),
 * refuses open/openat/stat/fstat with EACCES, and KILLS the process (SIGSYS) on any other:
 * rt_sigaction, sigaltstack, rt_sigreturn, tgkill, pread64, lseek, fcntl, dup, prlimit64...
 * The parent forks the worker, leaks 16 bytes, and exits without waiting (as sshd's monitor
 * does when the connection fails), so the worker is re-parented. The worker waits for its
 * parent's end (a pipe), leaks 40 bytes, keeps 100 in a global, prints "worker done" and
 * exits with status 3. Ways:
 *   early  the parent leaks its 16 bytes before the fork: the worker has allocated (its copy
 *          of the parent's heap) before its filter, as sshd's child has;
 *   late   after the fork: the worker's first allocation comes after its filter;
 *   wait   as early, but the parent waits for the worker and prints how it ended ("worker
 *          exited with 3"), as sshd's monitor reads its child's status;
 *   crash  as wait, but the worker frees a block and then writes through a wild pointer
 *          (address 16) after its filter: "worker killed by signal 11" (SIGSEGV);
 *   abort  as wait, but the worker calls abort() after its filter: glibc's raise makes
 *          tgkill, which the filter kills: "worker killed by signal 31" (SIGSYS);
 *   mild   as crash, under a filter that kills only getdents64 and sched_yield (two of
 *          the calls gpa's exit report makes, none its fault handler or glibc's start-up
 *          needs) and allows everything else: signal 11;
 *   stale  as mild, but the worker reads a byte of a block it freed instead of crashing (a
 *          read after free, which guard mode's protected pages fault on): it goes on,
 *          "worker exited with 3";
 *   exec   as mild, but the worker execs this program again ("child"), which inherits the
 *          filter, leaks 40 bytes, prints "worker done" and exits with 3;
 *   threads as stale, but after its filter the worker starts a thread that stays blocked
 *          (on a pipe nobody writes) instead of reading a freed block: "worker exited
 *          with 3" with the thread still running;
 *   refused as crash, but the worker's seccomp call has a flag the kernel does not know
 *          (EINVAL): no filter, the worker crashes unconfined: signal 11;
 *   unlisted a filter that kills the process on getdents64 and getdents only (the thread
 *          list of /proc/self/task; sched_yield allowed, which Valgrind's scheduler needs
 *          with threads), then three threads: one that never allocates and stays blocked (a
 *          pipe nobody writes), one that keeps a 64-byte block on its stack and stays
 *          blocked, one that leaks 32 bytes and ends (joined); the worker leaks 40 bytes,
 *          keeps 100 and exits with 3 while the two blocked threads run;
 *   ownstack as unlisted, but with one thread only, which never allocates and stays blocked
 *          on a stack the worker mapped itself (pthread_attr_setstack, its upper half left
 *          unused: glibc's thread descriptor is not at the top of a mapping);
 *   heapstack as ownstack, but the thread's stack is the lower half of a 2 MiB block from
 *          malloc (kept in a global: still reachable), its descriptor inside the block.
 * Natively: the parent exits 0, the worker 3 (or as said). */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void *kept; /* not static: the stores stay */
void *kept_stack;

__attribute__((noinline)) static void *allocate(size_t size) {
    char *block = malloc(size);
    memset(block, 7, size);
    return block;
}

#define ALLOW(call) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 1), \
                  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define DENY(call, e) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 1), \
                    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))
/* Allowed when argument 2 (the protection) has no bit outside PROT_READ|PROT_WRITE. */
#define ALLOW_PROT(call) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 5), \
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])), \
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~3u), \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), \
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), \
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

static struct sock_filter rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    DENY(SYS_open, EACCES), DENY(SYS_openat, EACCES), DENY(SYS_stat, EACCES),
    DENY(SYS_fstat, EACCES), DENY(SYS_lstat, EACCES), DENY(SYS_newfstatat, EACCES),
    DENY(SYS_statx, EACCES),
    ALLOW(SYS_brk), ALLOW(SYS_clock_gettime), ALLOW(SYS_close), ALLOW(SYS_exit),
    ALLOW(SYS_exit_group), ALLOW(SYS_futex), ALLOW(SYS_geteuid), ALLOW(SYS_getpgid),
    ALLOW(SYS_getpid), ALLOW(SYS_getrandom), ALLOW(SYS_gettid), ALLOW(SYS_gettimeofday),
    ALLOW(SYS_getuid), ALLOW(SYS_madvise), ALLOW_PROT(SYS_mmap), ALLOW_PROT(SYS_mprotect),
    ALLOW(SYS_mremap), ALLOW(SYS_munmap), ALLOW(SYS_nanosleep), ALLOW(SYS_clock_nanosleep),
    ALLOW(SYS_ppoll), ALLOW(SYS_poll), ALLOW(SYS_pselect6), ALLOW(SYS_read),
    ALLOW(SYS_rt_sigprocmask), ALLOW(SYS_select), ALLOW(SYS_shutdown), ALLOW(SYS_time),
    ALLOW(SYS_write), ALLOW(SYS_writev),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL),
};

#define KILL(call) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 1), \
                 BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL)
static struct sock_filter mild_rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    KILL(SYS_getdents64), KILL(SYS_sched_yield),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/* Kills the process on the calls that read a directory, and allows everything else. */
static struct sock_filter listing_rules[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getdents64, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getdents, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static int blocked[2], ready[2];

/* Stays blocked until the process ends (nobody writes to the pipe). */
static void *block(void *unused) {
    (void)unused;
    char byte;
    while (read(blocked[0], &byte, 1) > 0) {
    }
    return NULL;
}

/* Keeps a block on its stack while it stays blocked. */
static void *hold(void *unused) {
    (void)unused;
    void *volatile held = allocate(64);
    (void)held;
    if (write(ready[1], "r", 1) != 1) return NULL;
    block(NULL);
    return (void *)held;
}

/* Leaks 32 bytes and ends. */
static void *leak(void *unused) {
    (void)unused;
    void *volatile lost = allocate(32);
    (void)lost;
    lost = NULL;
    return NULL;
}

int main(int argc, char **argv) {
    const char *way = argc > 1 ? argv[1] : "early";
    if (strcmp(way, "child") == 0) {
        void *volatile lost = allocate(40);
        (void)lost;
        lost = NULL;
        static const char done[] = "worker done\n";
        write(1, done, sizeof done - 1);
        return 3;
    }
    int crash = strcmp(way, "crash") == 0, aborts = strcmp(way, "abort") == 0;
    int stale = strcmp(way, "stale") == 0, refused = strcmp(way, "refused") == 0;
    int execs = strcmp(way, "exec") == 0, threads = strcmp(way, "threads") == 0;
    int heapstack = strcmp(way, "heapstack") == 0;
    int ownstack = strcmp(way, "ownstack") == 0 || heapstack;
    int unlisted = strcmp(way, "unlisted") == 0 || ownstack;
    crash = crash || refused;
    int mild = strcmp(way, "mild") == 0 || stale || execs || threads;
    int waits = strcmp(way, "wait") == 0 || crash || aborts || mild || unlisted;
    int early = strcmp(way, "early") == 0 || waits;
    void *volatile lost = NULL;
    (void)lost;
    if (early) {
        lost = allocate(16);
        lost = NULL;
    }
    int ends[2];
    if (pipe(ends) != 0) return 2;
    fflush(stdout);
    pid_t worker = fork();
    if (worker < 0) return 2;
    if (worker == 0) {
        close(ends[1]);
        struct sock_fprog program = {sizeof rules / sizeof rules[0], rules};
        if (mild) {
            program.len = sizeof mild_rules / sizeof mild_rules[0];
            program.filter = mild_rules;
        } else if (unlisted) {
            program.len = sizeof listing_rules / sizeof listing_rules[0];
            program.filter = listing_rules;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 2;
        if (refused) {
            if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0x40000000u, &program) != -1
                || errno != EINVAL)
                return 2;
        } else if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
            return 2;
        }
        char byte;
        while (read(ends[0], &byte, 1) > 0) {
        }
        if (execs) {
            execl(argv[0], argv[0], "child", (char *)0);
            return 2;
        }
        if (threads) {
            pthread_t thread;
            if (pipe(blocked) != 0 || pthread_create(&thread, NULL, block, NULL) != 0) return 2;
        }
        if (ownstack) {
            size_t size = 1 << 20;
            char *stack = heapstack ? (kept_stack = malloc(2 * size))
                                    : mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (stack == NULL) return 2;
            pthread_attr_t attributes;
            pthread_t thread;
            if (stack == MAP_FAILED || pipe(blocked) != 0 || pthread_attr_init(&attributes) != 0
                || pthread_attr_setstack(&attributes, stack, size) != 0
                || pthread_create(&thread, &attributes, block, NULL) != 0)
                return 2;
        } else if (unlisted) {
            pthread_t idle, holder, ended;
            char byte;
            if (pipe(blocked) != 0 || pipe(ready) != 0
                || pthread_create(&idle, NULL, block, NULL) != 0
                || pthread_create(&holder, NULL, hold, NULL) != 0
                || pthread_create(&ended, NULL, leak, NULL) != 0
                || pthread_join(ended, NULL) != 0 || read(ready[0], &byte, 1) != 1)
                return 2;
        }
        if (crash || (mild && !threads)) {
            char *volatile freed = allocate(24);
            free(freed);
            if (stale) {
                if (((volatile char *)freed)[3] == 42) write(1, "?", 1);
            } else {
                volatile int *volatile wild = (volatile int *)(uintptr_t)16;
                *wild = 1;
            }
        }
        if (aborts) abort();
        lost = allocate(40);
        lost = NULL;
        kept = allocate(100);
        static const char done[] = "worker done\n";
        write(1, done, sizeof done - 1);
        exit(3);
    }
    close(ends[0]);
    if (!early) {
        lost = allocate(16);
        lost = NULL;
    }
    if (waits) {
        close(ends[1]);
        int status = 0;
        if (waitpid(worker, &status, 0) != worker) return 2;
        if (WIFEXITED(status))
            printf("worker exited with %d\n", WEXITSTATUS(status));
        else
            printf("worker killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    }
    return 0;
}
