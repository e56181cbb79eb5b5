/* Valid calls of the system-call wrappers gpa checks, with heap blocks of exactly the size
 * the kernel touches, stack and static buffers, and NULL where the call allows it: Valgrind
 * 3.19 reports nothing (and no leak), and gpa must not either. Built with gcc -O0 -g. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
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
#include <sys/un.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

static char *heap_string(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(malloc(n), s, n);
}

int main(void) {
    int failures = 0;
    char stack[256];
    /* Paths in heap blocks that hold them exactly. */
    char *dir = heap_string("gpa-vg-sweep2-dir");
    char *moved = heap_string("gpa-vg-sweep2-moved");
    char *file = heap_string("gpa-vg-sweep2-file");
    failures += mkdir(dir, 0700) != 0;
    failures += rename(dir, moved) != 0;
    failures += chdir(moved) != 0;
    failures += chdir("..") != 0;
    int fd = open(file, O_CREAT | O_RDWR | O_TRUNC, 0600);
    failures += fd < 0;
    failures += access(file, F_OK) != 0;
    struct stat *st = malloc(sizeof *st);
    failures += stat(file, st) != 0;
    failures += lstat(file, st) != 0;
    failures += fstat(fd, st) != 0;
    failures += fstatat(AT_FDCWD, file, st, 0) != 0;
    struct statx *sx = malloc(sizeof *sx);
    failures += statx(AT_FDCWD, file, 0, STATX_BASIC_STATS, sx) != 0;
    failures += stat(file, (struct stat *)stack) != 0;
    char *link = malloc(64);
    failures += readlink("/proc/self/exe", link, 64) <= 0;
    char *cwd = malloc(4096);
    failures += getcwd(cwd, 4096) == NULL;
    char *own = getcwd(NULL, 0);
    failures += own == NULL;
    free(own);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    char *dents = malloc(4096);
    failures += getdents64(dfd, dents, 4096) < 0;
    close(dfd);
    close(fd);
    failures += unlink(file) != 0;
    failures += rmdir(moved) != 0;
    int at = openat(AT_FDCWD, "/dev/null", O_RDONLY);
    failures += at < 0;
    close(at);

    /* Sockets: a Unix-domain pair, a listening socket, a datagram socket. */
    int *pair = malloc(2 * sizeof(int));
    failures += socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0;
    int *value = malloc(sizeof(int));
    socklen_t *len = malloc(sizeof(socklen_t));
    *len = sizeof(int);
    failures += getsockopt(pair[0], SOL_SOCKET, SO_TYPE, value, len) != 0;
    failures += setsockopt(pair[0], SOL_SOCKET, SO_KEEPALIVE, value, sizeof(int)) != 0;
    struct sockaddr_storage *name = malloc(sizeof *name);
    *len = sizeof *name;
    failures += getsockname(pair[0], (struct sockaddr *)name, len) != 0;
    *len = sizeof *name;
    failures += getpeername(pair[0], (struct sockaddr *)name, len) != 0;
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    const char *path = "gpa-vg-sweep2-socket";
    size_t unix_len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
    struct sockaddr_un *address = malloc(unix_len); /* shorter than sockaddr_un */
    address->sun_family = AF_UNIX;
    strcpy(address->sun_path, path);
    failures += bind(listener, (struct sockaddr *)address, unix_len) != 0;
    failures += listen(listener, 1) != 0;
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    failures += connect(client, (struct sockaddr *)address, unix_len) != 0;
    struct sockaddr_un *peer = malloc(sizeof *peer);
    *len = sizeof *peer;
    int served = accept(listener, (struct sockaddr *)peer, len);
    failures += served < 0;
    close(served);
    close(client);
    client = socket(AF_UNIX, SOCK_STREAM, 0);
    failures += connect(client, (struct sockaddr *)address, unix_len) != 0;
    served = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    failures += served < 0;
    close(served);
    close(client);
    close(listener);
    unlink(path);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in *inet = calloc(1, sizeof *inet);
    inet->sin_family = AF_INET;
    inet->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    failures += bind(udp, (struct sockaddr *)inet, sizeof *inet) != 0;
    *len = sizeof *inet;
    failures += getsockname(udp, (struct sockaddr *)inet, len) != 0;
    char *message = heap_string("datagram");
    failures += sendto(udp, message, 8, 0, (struct sockaddr *)inet, sizeof *inet) != 8;
    struct sockaddr_in *from = malloc(sizeof *from);
    *len = sizeof *from;
    failures += recvfrom(udp, stack, sizeof stack, 0, (struct sockaddr *)from, len) != 8;
    failures += recvfrom(udp, stack, sizeof stack, MSG_DONTWAIT, NULL, NULL) != -1;
    failures += ioctl(udp, FIONREAD, value) != 0;
    close(udp);

    /* Descriptors: pipes, poll, select, epoll. */
    int *fds = malloc(2 * sizeof(int));
    failures += pipe(fds) != 0;
    failures += write(fds[1], "x", 1) != 1;
    struct pollfd *polled = malloc(2 * sizeof *polled);
    polled[0] = (struct pollfd){.fd = fds[0], .events = POLLIN};
    polled[1] = (struct pollfd){.fd = fds[1], .events = POLLOUT};
    failures += poll(polled, 2, 0) != 2;
    struct timespec *zero = calloc(1, sizeof *zero);
    failures += ppoll(polled, 2, zero, NULL) != 2;
    fd_set *readable = malloc(sizeof *readable);
    FD_ZERO(readable);
    FD_SET(fds[0], readable);
    struct timeval *tv = calloc(1, sizeof *tv);
    failures += select(fds[0] + 1, readable, NULL, NULL, tv) != 1;
    tv->tv_usec = 1;
    failures += select(0, NULL, NULL, NULL, tv) != 0;
    int epoll = epoll_create1(0);
    struct epoll_event *event = calloc(1, sizeof *event);
    event->events = EPOLLIN;
    failures += epoll_ctl(epoll, EPOLL_CTL_ADD, fds[0], event) != 0;
    struct epoll_event *events = malloc(4 * sizeof *events);
    failures += epoll_wait(epoll, events, 4, 0) != 1;
    failures += epoll_pwait(epoll, events, 4, 0, NULL) != 1;
    failures += epoll_ctl(epoll, EPOLL_CTL_DEL, fds[0], NULL) != 0;
    close(epoll);
    close(fds[0]);
    close(fds[1]);
    failures += pipe2(fds, O_CLOEXEC) != 0;
    close(fds[0]);
    close(fds[1]);

    /* Time, limits, names, randomness. */
    failures += clock_gettime(CLOCK_MONOTONIC, zero) != 0;
    failures += gettimeofday(tv, NULL) != 0;
    zero->tv_sec = 0;
    zero->tv_nsec = 1000;
    failures += nanosleep(zero, NULL) != 0;
    struct timespec *rest = malloc(sizeof *rest);
    failures += clock_nanosleep(CLOCK_MONOTONIC, 0, zero, rest) != 0;
    struct rlimit *limit = malloc(sizeof *limit);
    failures += getrlimit(RLIMIT_NOFILE, limit) != 0;
    failures += setrlimit(RLIMIT_NOFILE, limit) != 0;
    failures += prlimit(0, RLIMIT_NOFILE, NULL, limit) != 0;
    struct utsname *uts = malloc(sizeof *uts);
    failures += uname(uts) != 0;
    struct sysinfo *info = malloc(sizeof *info);
    failures += sysinfo(info) != 0;
    char *random = malloc(16);
    failures += getrandom(random, 16, 0) != 16;

    free(dir);
    free(moved);
    free(file);
    free(st);
    free(sx);
    free(link);
    free(cwd);
    free(dents);
    free(pair);
    free(value);
    free(len);
    free(name);
    free(address);
    free(peer);
    free(inet);
    free(message);
    free(from);
    free(fds);
    free(polled);
    free(zero);
    free(readable);
    free(tv);
    free(event);
    free(events);
    free(rest);
    free(limit);
    free(uts);
    free(info);
    free(random);
    printf("failures: %d\n", failures);
    return failures != 0;
}
