/* Heavy legitimate use of the calls `gaps.c` plants bugs in: formatting into heap blocks that
 * just fit (every kind of argument: integers and pointers past the six argument registers,
 * doubles past the eight vector registers, long doubles, `*` widths and precisions, `%n`,
 * positional arguments, `%s` with a precision over a heap buffer without a terminator),
 * truncating `snprintf`, messages with addresses and ancillary data, vectored positional I/O,
 * wide string concatenation and copies that fit. Valgrind 3.19: no error, all heap blocks
 * freed. The output is the same with and without gpa (the test compares it). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>
#include <wchar.h>

static volatile size_t eight = 8;
static size_t n(size_t value) { return value + eight - 8; }

static int v_format(char *d, size_t size, const char *format, ...) {
    va_list ap, copy;
    va_start(ap, format);
    va_copy(copy, ap);
    int first = vsnprintf(d, size, format, ap);
    char *again = malloc(n((size_t)first + 1));
    int second = vsprintf(again, format, copy);
    if (first != second || strncmp(d, again, size ? size - 1 : 0) != 0)
        printf("v_format mismatch\n");
    free(again);
    va_end(copy);
    va_end(ap);
    return first;
}

int main(void) {
    unsigned long sum = 0;
    for (int round = 0; round < 200; round++) {
        /* Exactly the output and its NUL. */
        char *line = malloc(n(40));
        int written = 0;
        int r = sprintf(line, "%d|%5.2f|%s|%c|%x|%n%lu|%%", round, round / 3.0, "abc", 'z',
                        round * 7, &written, (unsigned long)round << 20);
        sum += (unsigned long)r + (unsigned long)written + (unsigned char)line[r - 1];
        free(line);

        /* Nine integer-class and ten double arguments: both spill to the stack. */
        char *many = malloc(n(200));
        r = snprintf(many, n(200), "%d %ld %lld %hd %hhu %zu %jd %td %p %s %.1f %.1f %.1f %.1f "
                     "%.1f %.1f %.1f %.1f %.1f %.1f %.3Lf",
                     1, 2L, 3LL, (short)4, (unsigned char)5, (size_t)6, (intmax_t)7,
                     (ptrdiff_t)8, (void *)0, "nine", 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5,
                     8.5, 9.5, 10.5, (long double)round / 7);
        sum += (unsigned long)r + (unsigned char)many[r / 2];
        if (round == 0)
            printf("%s\n", many);
        free(many);

        /* `*` width and precision; `%s` with a precision over a buffer without a NUL. */
        char *raw = malloc(n(8));
        memset(raw, 'q', 8);
        char *fit = malloc(n(14));
        r = sprintf(fit, "[%*.*s][%.3s]", 6, 4, raw, raw);
        sum += (unsigned long)r + (unsigned char)fit[3];
        free(fit);
        free(raw);

        /* Positional arguments. */
        char *pos = malloc(n(16));
        r = snprintf(pos, n(16), "%2$s-%1$d", round, "pos");
        sum += (unsigned long)r;
        free(pos);

        /* Truncation: snprintf stores at most its size. */
        char *small = malloc(n(8));
        r = snprintf(small, n(8), "%s", "a longer string than eight");
        sum += (unsigned long)r + strlen(small);
        r = snprintf(NULL, 0, "%d", round * 1000);
        sum += (unsigned long)r;
        free(small);

        /* The v* forms. */
        char *vbuf = malloc(n(32));
        r = v_format(vbuf, n(32), "%s:%d:%g", "v", round, round * 0.5);
        sum += (unsigned long)r;
        r = v_format(vbuf, n(4), "%s", "truncated");
        sum += (unsigned long)r + strlen(vbuf);
        free(vbuf);

        /* A wide string argument. */
        wchar_t *wide = malloc(n(4 * sizeof(wchar_t)));
        wcscpy(wide, L"wid");
        char *wout = malloc(n(8));
        r = sprintf(wout, "<%ls>", wide);
        sum += (unsigned long)r;
        free(wout);

        /* Wide strings that fit. */
        wcscat(wide, L"");
        wchar_t *wcat = malloc(n(8 * sizeof(wchar_t)));
        wcscpy(wcat, L"ab");
        wcscat(wcat, L"cd");
        wcsncat(wcat, L"efghij", 3);
        wcsncpy(wide, L"xyz", 4);
        sum += wcslen(wcat) + wcslen(wide);
        wcsncpy(wcat, L"0123456789", 8);
        sum += (unsigned long)wcat[7];
        free(wcat);
        free(wide);
    }

    /* Messages: buffers, an address and ancillary data in heap blocks that fit. */
    int pair[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    for (int round = 0; round < 50; round++) {
        char *head = malloc(n(4));
        char *body = malloc(n(12));
        memcpy(head, "msg:", 4);
        memset(body, 'a' + round % 26, 12);
        struct iovec out[2] = {{head, 4}, {body, 12}};
        struct msghdr m = {0};
        m.msg_iov = out;
        m.msg_iovlen = 2;
        char *control = malloc(n(CMSG_SPACE(sizeof(int))));
        memset(control, 0, CMSG_SPACE(sizeof(int)));
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int fd = 0;
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        ssize_t sent = sendmsg(pair[1], &m, 0);
        char *in = malloc(n(16));
        char *name = malloc(n(sizeof(struct sockaddr_un)));
        char *back = malloc(n(CMSG_SPACE(sizeof(int))));
        struct iovec iv[1] = {{in, 16}};
        struct msghdr r = {0};
        r.msg_iov = iv;
        r.msg_iovlen = 1;
        r.msg_name = name;
        r.msg_namelen = sizeof(struct sockaddr_un);
        r.msg_control = back;
        r.msg_controllen = CMSG_SPACE(sizeof(int));
        ssize_t got = recvmsg(pair[0], &r, 0);
        struct cmsghdr *rc = CMSG_FIRSTHDR(&r);
        if (rc && rc->cmsg_type == SCM_RIGHTS) {
            int passed;
            memcpy(&passed, CMSG_DATA(rc), sizeof passed);
            close(passed);
        }
        sum += (unsigned long)(sent + got) + (unsigned char)in[15];
        free(back);
        free(name);
        free(in);
        free(control);
        free(body);
        free(head);
    }

    /* Vectored positional I/O. */
    char path[] = "/tmp/gpa-gaps-clean-XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    for (int round = 0; round < 50; round++) {
        char *a = malloc(n(10));
        char *b = malloc(n(6));
        memset(a, '0' + round % 10, 10);
        memset(b, 'A' + round % 26, 6);
        struct iovec out[2] = {{a, 10}, {b, 6}};
        ssize_t w = round % 2 ? pwritev(file, out, 2, round * 16)
                              : pwritev2(file, out, 2, round * 16, 0);
        memset(a, 0, 10);
        memset(b, 0, 6);
        struct iovec in[2] = {{a, 10}, {b, 6}};
        ssize_t got = round % 2 ? preadv(file, in, 2, round * 16)
                                : preadv2(file, in, 2, round * 16, 0);
        sum += (unsigned long)(w + got) + (unsigned char)a[9] + (unsigned char)b[5];
        free(b);
        free(a);
    }
    close(file);
    printf("sum %lu\n", sum);
    return 0;
}
