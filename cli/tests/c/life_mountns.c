/* A program run as root that enters a new mount namespace and mounts a tmpfs over DIR (the
 * directory that holds gpa run's report directory, /tmp), as sandboxes, container runtimes
 * and `unshare -m` do (cli/tests/lifecycle.rs). Ways:
 *   self DIR          unshare(CLONE_NEWNS), mount, then leak 56 bytes.
 *   fork DIR CHILD    unshare, mount, fork: the child leaks 24 bytes and execs CHILD; the
 *                     parent waits and leaks 8.
 *   clone DIR CHILD   clone(CLONE_NEWNS | SIGCHLD): the child mounts, leaks 24 bytes and
 *                     execs CHILD; the parent (still in the first namespace) waits, prints
 *                     how many descriptors it has above 2, and leaks 8.
 *   setns DIR CHILD   a first child unshares, mounts and waits; a second child enters its
 *                     namespace with setns(), leaks 24 bytes, goes back to the working
 *                     directory by a descriptor and execs CHILD; the first then
 *                     leaks 16 and exits; the parent leaks 8.
 *   closefrom DIR CHILD  as fork, the child calling closefrom(3) before it leaks and execs.
 *   close_range DIR CHILD  as fork, the child calling close_range(3, ~0U, 0).
 *   close_each DIR CHILD   as fork, the child calling close() on every entry of
 *                     /proc/self/fd above 2, as bubblewrap's sandbox init does.
 *   dup2 DIR CHILD    as fork, the child making descriptors 512 to 520 copies of its
 *                     standard output with dup2() and closing them again.
 *   vfork_dup2 DIR CHILD  as fork, but first a vfork child makes descriptor 512 a copy of
 *                     its standard output with dup2() and ends with _exit(0).
 *   raw_close DIR CHILD  as close_each and dup2, by syscall(): SYS_dup3 onto 512 to 520,
 *                     SYS_close of every descriptor from 3 to 1023, then
 *                     SYS_close_range(3, ~0U, 0).
 *   clone3 DIR CHILD  as clone, by syscall(SYS_clone3) (as crun and other container runtimes
 *                     make it; glibc has no wrapper), falling back to syscall(SYS_clone)
 *                     where the kernel or a tool refuses clone3 with ENOSYS.
 *   pidns DIR CHILD   unshare(CLONE_NEWPID | CLONE_NEWNS), as `unshare -p -f --mount-proc`:
 *                     the child (pid 1 of the new PID namespace) mounts that namespace's
 *                     /proc over /proc, leaks 24 bytes and execs CHILD; the parent, whose
 *                     /proc/self now names nothing, waits and leaks 8.
 * Each process in the new namespace prints whether DIR looks empty there. Exits with status
 * 0 (2 when a step failed, 4 when unshare is refused). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;
static const char *child_program;

__attribute__((noinline)) static void lost_in_namespace(size_t size) {
    char *volatile lost = malloc(size);
    memset(lost, 7, size);
    lost = NULL;
}

/* Entries of DIR other than . and .. */
static int entries(void) {
    DIR *listing = opendir(dir);
    if (!listing) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)))
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) count++;
    closedir(listing);
    return count;
}

/* Open descriptors above 2 (the listing's own not counted). */
static int descriptors(void) {
    DIR *listing = opendir("/proc/self/fd");
    if (!listing) return -1;
    int count = 0, own = dirfd(listing);
    struct dirent *entry;
    while ((entry = readdir(listing)))
        if (entry->d_name[0] != '.' && atoi(entry->d_name) > 2 && atoi(entry->d_name) != own)
            count++;
    closedir(listing);
    return count;
}

/* Mounts a tmpfs over DIR in this (new) namespace; 0 on success. */
static int cover(void) {
    /* A type, though the kernel reads none here: Valgrind 3.19 takes a null one for an error. */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) return -1;
    if (mount("none", dir, "tmpfs", 0, NULL) != 0) return -1;
    printf("covered: %s empty: %s\n", dir, entries() == 0 ? "yes" : "no");
    fflush(stdout);
    return 0;
}

static void run_child(size_t leak) {
    lost_in_namespace(leak);
    execl(child_program, child_program, "in-namespace", (char *)NULL);
    _exit(2);
}

static int child_in_new_namespace(void *unused) {
    (void)unused;
    if (cover() != 0) _exit(2);
    run_child(24);
    return 2;
}

/* Closes every descriptor above 2 listed in /proc/self/fd (the listing read first). */
static void close_each(void) {
    int numbers[1024], count = 0;
    DIR *listing = opendir("/proc/self/fd");
    if (!listing) _exit(2);
    struct dirent *entry;
    while ((entry = readdir(listing)) && count < 1024)
        if (entry->d_name[0] != '.' && atoi(entry->d_name) > 2) numbers[count++] = atoi(entry->d_name);
    closedir(listing);
    for (int i = 0; i < count; i++) close(numbers[i]);
}

static int wait_for(pid_t child) {
    int status = 0;
    if (waitpid(child, &status, 0) != child) return -1;
    return status;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: life_mountns self|fork|clone|setns|closefrom|close_range|close_each|dup2|vfork_dup2|raw_close|clone3|pidns DIR [CHILD]\n");
        return 1;
    }
    const char *way = argv[1];
    dir = argv[2];
    child_program = argc > 3 ? argv[3] : "./life_child";
    fflush(stdout);
    if (strcmp(way, "clone") == 0) {
        static char stack[256 * 1024];
        pid_t child = clone(child_in_new_namespace, stack + sizeof stack, CLONE_NEWNS | SIGCHLD,
                            NULL);
        if (child < 0) return 4;
        wait_for(child);
        printf("parent: %d descriptor(s) above 2\n", descriptors());
        lost_in_namespace(8);
        return 0;
    }
    if (strcmp(way, "clone3") == 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_NEWNS;
        args.exit_signal = SIGCHLD;
        fflush(stdout);
        long child = syscall(SYS_clone3, &args, sizeof args);
        if (child < 0 && errno == ENOSYS) child = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
        if (child < 0) return 4;
        if (child == 0) child_in_new_namespace(NULL);
        wait_for((pid_t)child);
        printf("parent: %d descriptor(s) above 2\n", descriptors());
        lost_in_namespace(8);
        return 0;
    }
    if (strcmp(way, "setns") == 0) {
        int ready[2], go[2];
        if (pipe(ready) != 0 || pipe(go) != 0) return 2;
        pid_t holder = fork();
        if (holder == 0) {
            close(ready[0]);
            close(go[1]);
            if (unshare(CLONE_NEWNS) != 0) _exit(4);
            if (cover() != 0) _exit(2);
            char byte = 1;
            if (write(ready[1], &byte, 1) != 1) _exit(2);
            if (read(go[0], &byte, 1) < 0) _exit(2);
            lost_in_namespace(16);
            exit(0);
        }
        close(ready[1]);
        close(go[0]);
        char byte;
        if (read(ready[0], &byte, 1) != 1) {
            int status = wait_for(holder);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)holder);
        int ns = open(path, O_RDONLY | O_CLOEXEC);
        if (ns < 0) return 2;
        fflush(stdout);
        /* The namespace's root becomes the working directory, and DIR (which holds CHILD)
         * is covered there: the child goes back to this directory by a descriptor. */
        int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (here < 0) return 2;
        pid_t entering = fork();
        if (entering == 0) {
            if (setns(ns, CLONE_NEWNS) != 0) _exit(2);
            printf("entered: %s empty: %s\n", dir, entries() == 0 ? "yes" : "no");
            fflush(stdout);
            if (fchdir(here) != 0) _exit(2);
            run_child(24);
        }
        close(here);
        close(ns);
        wait_for(entering);
        if (write(go[1], &byte, 1) != 1) return 2;
        wait_for(holder);
        lost_in_namespace(8);
        return 0;
    }
    if (strcmp(way, "pidns") == 0) {
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) return 4;
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) return 2;
        pid_t child = fork();
        if (child == 0) {
            if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) _exit(2);
            printf("pid in namespace: %d\n", (int)getpid());
            fflush(stdout);
            run_child(24);
        }
        wait_for(child);
        lost_in_namespace(8);
        return 0;
    }
    if (unshare(CLONE_NEWNS) != 0) return 4;
    if (cover() != 0) return 2;
    if (strcmp(way, "self") == 0) {
        lost_in_namespace(56);
        return 0;
    }
    if (strcmp(way, "vfork_dup2") == 0) {
        pid_t early = vfork();
        if (early == 0) {
            if (dup2(1, 512) != 512) _exit(2);
            _exit(0);
        }
        wait_for(early);
    }
    pid_t child = fork();
    if (child == 0) {
        if (strcmp(way, "closefrom") == 0) closefrom(3);
        if (strcmp(way, "close_range") == 0 && close_range(3, ~0U, 0) != 0) _exit(2);
        if (strcmp(way, "close_each") == 0) close_each();
        if (strcmp(way, "raw_close") == 0) {
            for (int fd = 512; fd <= 520; fd++)
                if (syscall(SYS_dup3, 1, fd, 0) != fd) _exit(2);
            for (int fd = 3; fd < 1024; fd++) syscall(SYS_close, fd);
            if (syscall(SYS_close_range, 3, ~0U, 0) != 0) _exit(2);
        }
        if (strcmp(way, "dup2") == 0) {
            for (int fd = 512; fd <= 520; fd++)
                if (dup2(1, fd) != fd) _exit(2);
            for (int fd = 512; fd <= 520; fd++)
                if (close(fd) != 0) _exit(2);
        }
        run_child(24);
    }
    wait_for(child);
    lost_in_namespace(8);
    return 0;
}
