/* Heap blocks handed to libc's system-call wrappers after free (`freed`) or too short for
 * what the kernel reads or writes (`fresh` with a size below the kernel's). One call a line;
 * Valgrind 3.19 reports each as "Syscall param CALL(PARAM) points to unaddressable byte(s)"
 * (cli/tests/vg_sweep2.rs holds its verdicts). Calls that could write are made to fail
 * before the kernel writes (a bad descriptor, a missing path, an invalid clock) where the
 * call can fail so: Valgrind checks a call's buffers before the call whatever its outcome.
 * (`fstat` writes: Valgrind does not check a bad descriptor's buffer; the freed block is
 * whole and the short one 1 byte short.) Built with gcc -O0 -g. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void *fresh(size_t n) {
    return malloc(n);
}

/* Zeroed: what the kernel reads is defined (Valgrind checks definedness first). */
static void *filled(size_t n) {
    return memset(malloc(n), 0, n);
}

static void *freed(size_t n) {
    void *p = filled(n);
    free(p);
    return p;
}

/* A socket address of the family AF_INET in a block of `n` bytes. */
static void *inet(size_t n) {
    unsigned short *p = filled(n);
    *p = AF_INET;
    return p;
}

/* A path of `len` bytes with no terminator in its block. */
static char *unterminated(size_t len) {
    char *p = malloc(len);
    memset(p, 'x', len);
    return p;
}

int main(void) {
    int bad = -1;
    struct timespec zero = {0, 0};
    struct timeval tv = {0, 0};
    socklen_t len = 16;
    int epoll = epoll_create1(0);
    /* Paths: read as strings. */
    open(freed(16), O_RDONLY);
    open(unterminated(8), O_RDONLY);
    openat(AT_FDCWD, freed(16), O_RDONLY);
    access(freed(16), F_OK);
    unlink(freed(16));
    mkdir(freed(16), 0700);
    rename(freed(16), "/nonexistent/b");
    rename("/nonexistent/a", freed(16));
    chdir(freed(16));
    stat(freed(16), (struct stat *)fresh(sizeof(struct stat)));
    /* Buffers the kernel writes (the calls fail first: nothing is written). */
    stat("/nonexistent", freed(sizeof(struct stat)));
    stat("/nonexistent", fresh(100));
    fstat(2, freed(sizeof(struct stat)));
    fstat(2, fresh(sizeof(struct stat) - 1));
    lstat("/nonexistent", fresh(100));
    fstatat(bad, "x", fresh(100), 0);
    statx(bad, "x", 0, STATX_BASIC_STATS, fresh(100));
    readlink("/nonexistent", fresh(8), 16);
    readlink("/nonexistent", freed(16), 16);
    getcwd(fresh(2), 4);
    getdents64(bad, fresh(16), 32);
    getdents64(bad, freed(32), 32);
    /* Sockets. */
    bind(bad, inet(6), 16);
    connect(bad, freed(16), 16);
    accept(bad, fresh(8), &len);
    getsockname(bad, fresh(8), &len);
    getpeername(bad, freed(16), &len);
    getsockopt(bad, SOL_SOCKET, SO_TYPE, fresh(2), &len);
    setsockopt(bad, SOL_SOCKET, SO_TYPE, filled(2), 4);
    sendto(bad, "x", 1, 0, freed(16), 16);
    recvfrom(bad, fresh(16), 1, 0, fresh(8), &len);
    /* Time. */
    clock_gettime(-100, fresh(8));
    clock_gettime(-100, freed(16));
    nanosleep(filled(8), 0);
    nanosleep(freed(16), 0);
    clock_nanosleep(-100, 0, filled(8), 0);
    gettimeofday(fresh(sizeof(struct timeval) - 1), 0);
    gettimeofday(freed(sizeof(struct timeval)), 0);
    /* Limits, names, signals, randomness. */
    getrlimit(-1, fresh(8));
    setrlimit(-1, filled(8));
    prlimit(0, -1, filled(8), 0);
    uname(fresh(sizeof(struct utsname) - 1));
    sysinfo(freed(sizeof(struct sysinfo)));
    getrandom(fresh(8), 16, -1);
    /* Descriptors. */
    poll(freed(8), 1, 0);
    ppoll(filled(12), 2, &zero, 0);
    select(64, filled(4), 0, 0, &tv);
    select(0, 0, 0, 0, freed(16));
    epoll_ctl(epoll, EPOLL_CTL_ADD, bad, filled(2));
    epoll_ctl(epoll, EPOLL_CTL_ADD, bad, freed(12));
    epoll_wait(bad, fresh(8), 2, 0);
    ioctl(bad, FIONREAD, fresh(2));
    pipe(freed(8));
    pipe2(fresh(4), -1);
    socketpair(-1, SOCK_STREAM, 0, fresh(4));
    /* Structures a check reads to find the buffers: a wild vector (not heap: nothing for gpa
     * to report, and nothing it may read), a freed vector, a freed length word. */
    int null = open("/dev/null", O_WRONLY);
    writev(null, (void *)1, 1);
    writev(null, freed(16), 1);
    getsockname(bad, fresh(8), freed(4));
    return 0;
}
