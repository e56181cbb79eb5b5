/* One planted bug per case through the stream, descriptor and new-string formatting calls and
 * the vector message calls of cli/tests/libc_calls.rs (`printf CASE`): `printf`, `fprintf`,
 * `dprintf`, `asprintf` and their `v*` forms (a `%s` argument read past its block, a heap
 * format without a terminator, a `%ls` with a precision, a freed argument, a `%n` count
 * stored into a freed block or past a block's end), `recvmmsg`,
 * `sendmmsg`. The call of each case is the line marked `@CASE`. `s` is an 8-byte block of
 * 'b's without a terminator, `w` a 16-byte block of four wide 'a's without one, `q` a
 * 16-byte block the messages' buffers overrun. What the
 * calls print goes to /dev/null (what they read past a block differs from run to run). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include <wchar.h>

static volatile size_t eight = 8;

static size_t n(size_t value) { return value + eight - 8; }

static int v_printf(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = vprintf(format, ap); /* @vprintf */
    va_end(ap);
    return r;
}

static int v_fprintf(FILE *to, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = vfprintf(to, format, ap); /* @vfprintf */
    va_end(ap);
    return r;
}

static int v_dprintf(int fd, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = vdprintf(fd, format, ap); /* @vdprintf */
    va_end(ap);
    return r;
}

static int v_asprintf(char **out, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = vasprintf(out, format, ap); /* @vasprintf */
    va_end(ap);
    return r;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    int null = open("/dev/null", O_WRONLY);
    FILE *sink = fdopen(dup(null), "w");
    int pair[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    char stack[64];
    memset(stack, 'a', 64);
    char *s = malloc(n(8));
    memset(s, 'b', 8);
    wchar_t *w = malloc(n(16));
    for (int i = 0; i < 4; i++) w[i] = L'a';
    char *q = malloc(n(16));
    memset(q, 'c', 16);
    char *out = NULL;
    fflush(stdout);
    int saved = dup(1);
    dup2(null, 1);
    long r = 0;
    if (!strcmp(name, "printf")) {
        r = printf("<%s>\n", s); /* @printf */
    } else if (!strcmp(name, "fprintf")) {
        r = fprintf(sink, "<%d %s>\n", 7, s); /* @fprintf */
    } else if (!strcmp(name, "dprintf")) {
        r = dprintf(null, "<%s>\n", s); /* @dprintf */
    } else if (!strcmp(name, "asprintf")) {
        r = asprintf(&out, "<%s>", s); /* @asprintf */
    } else if (!strcmp(name, "vprintf")) {
        r = v_printf("<%s>\n", s);
    } else if (!strcmp(name, "vfprintf")) {
        r = v_fprintf(sink, "<%s>\n", s);
    } else if (!strcmp(name, "vdprintf")) {
        r = v_dprintf(null, "<%s>\n", s);
    } else if (!strcmp(name, "vasprintf")) {
        r = v_asprintf(&out, "<%s>", s);
    } else if (!strcmp(name, "printf_precision")) {
        r = printf("<%.12s>\n", s); /* @printf_precision: reads 12 of 8 */
    } else if (!strcmp(name, "printf_format")) {
        r = printf(s); /* @printf_format: a heap format without a terminator */
    } else if (!strcmp(name, "printf_wide")) {
        r = printf("<%.5ls>\n", w); /* @printf_wide: 5 wide characters of 4 */
    } else if (!strcmp(name, "printf_freed")) {
        char *p = malloc(n(16));
        strcpy(p, "gone");
        free(p);
        r = printf("<%s>\n", p); /* @printf_freed */
    } else if (!strcmp(name, "printf_count_freed")) {
        int *p = malloc(n(4));
        free(p);
        r = printf("<%s>%n\n", "ab", p); /* @printf_count_freed: %n stores 4 bytes */
    } else if (!strcmp(name, "fprintf_count_short")) {
        char *h = malloc(n(1));
        r = fprintf(sink, "<%d>%hn", 5, (short *)h); /* @fprintf_count_short: 2 bytes into 1 */
        free(h);
    } else if (!strcmp(name, "printf_count_long")) {
        long *l = malloc(n(4));
        r = printf("%s%ln\n", "abc", l); /* @printf_count_long: 8 bytes into 4 */
        free(l);
    } else if (!strcmp(name, "dprintf_count_size")) {
        char *c = malloc(n(1));
        r = dprintf(null, "%hhn%d|%zn", c, 3, (size_t *)q + 2); /* @dprintf_count_size */
        free(c);
    } else if (!strcmp(name, "recvmmsg")) {
        send(pair[1], "x", 1, 0);
        send(pair[1], "y", 1, 0);
        struct iovec first[1] = {{stack, 8}}, second[2] = {{stack, 8}, {q, n(20)}};
        struct mmsghdr m[2];
        memset(m, 0, sizeof m);
        m[0].msg_hdr.msg_iov = first;
        m[0].msg_hdr.msg_iovlen = 1;
        m[1].msg_hdr.msg_iov = second;
        m[1].msg_hdr.msg_iovlen = 2;
        r = recvmmsg(pair[0], m, 2, MSG_DONTWAIT, NULL); /* @recvmmsg */
    } else if (!strcmp(name, "recvmmsg_name")) {
        send(pair[1], "x", 1, 0);
        send(pair[1], "y", 1, 0);
        struct iovec first[1] = {{stack, 8}}, second[1] = {{stack, 8}};
        struct mmsghdr m[2];
        memset(m, 0, sizeof m);
        m[0].msg_hdr.msg_iov = first;
        m[0].msg_hdr.msg_iovlen = 1;
        m[1].msg_hdr.msg_iov = second;
        m[1].msg_hdr.msg_iovlen = 1;
        m[1].msg_hdr.msg_name = q;
        m[1].msg_hdr.msg_namelen = n(20);
        r = recvmmsg(pair[0], m, 2, MSG_DONTWAIT, NULL); /* @recvmmsg_name */
    } else if (!strcmp(name, "sendmmsg")) {
        struct iovec first[1] = {{stack, 8}}, second[2] = {{stack, 8}, {q, n(20)}};
        struct mmsghdr m[2];
        memset(m, 0, sizeof m);
        m[0].msg_hdr.msg_iov = first;
        m[0].msg_hdr.msg_iovlen = 1;
        m[1].msg_hdr.msg_iov = second;
        m[1].msg_hdr.msg_iovlen = 2;
        r = sendmmsg(pair[1], m, 2, 0); /* @sendmmsg */
    } else if (!strcmp(name, "sendmmsg_control")) {
        struct iovec first[1] = {{stack, 8}}, second[1] = {{stack, 8}};
        struct mmsghdr m[2];
        memset(m, 0, sizeof m);
        m[0].msg_hdr.msg_iov = first;
        m[0].msg_hdr.msg_iovlen = 1;
        m[1].msg_hdr.msg_iov = second;
        m[1].msg_hdr.msg_iovlen = 1;
        m[1].msg_hdr.msg_control = q;
        m[1].msg_hdr.msg_controllen = n(20);
        r = sendmmsg(pair[1], m, 2, 0); /* @sendmmsg_control */
    }
    fflush(stdout);
    dup2(saved, 1);
    printf("%d\n", r != 0);
    free(out);
    free(q);
    free(w);
    free(s);
    fclose(sink);
    return 0;
}
