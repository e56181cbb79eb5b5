/* One planted bug per case through the formatting, message and wide-string calls of
 * cli/tests/libc_calls.rs (`gaps CASE`): `sprintf`, `snprintf`, `vsprintf`, `vsnprintf`,
 * `recvmsg`, `sendmsg`, `preadv`, `pwritev`, `preadv2`, `pwritev2`, `wcscat`, `wcsncpy`,
 * `wcsncat`. Sizes come from a volatile so that no call is folded; the call of each case is
 * the line marked `@CASE` (the test looks it up). `p` is a 16-byte block of 'a's without a
 * terminator; `w` a 16-byte block holding the wide string L"ab". */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>
#include <wchar.h>

static volatile size_t eight = 8;
static char digits[] = "0123456789abcdefXYZ";
static wchar_t wdigits[] = L"0123456789";

static size_t n(size_t value) { return value + eight - 8; }

static int v_sprintf(char *d, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = vsprintf(d, format, ap); /* @vsprintf */
    va_end(ap);
    return r;
}

static int v_snprintf(char *d, size_t size, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int r = vsnprintf(d, size, format, ap); /* @vsnprintf */
    va_end(ap);
    return r;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char stack[64];
    memset(stack, 'a', 63);
    stack[63] = 0;
    int zero = open("/dev/zero", O_RDONLY);
    int null = open("/dev/null", O_WRONLY);
    int pair[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    send(pair[1], digits, 20, 0);
    char *p = malloc(n(16));
    memset(p, 'a', 16);
    wchar_t *w = malloc(n(16));
    wcscpy(w, L"ab");
    long r = 0;
    if (!strcmp(name, "sprintf")) {
        r = sprintf(p, "%s-%d", digits, 42); /* @sprintf: 23 bytes into 16 */
    } else if (!strcmp(name, "snprintf")) {
        r = snprintf(p, n(24), "%s %.1f", digits, 2.5); /* @snprintf: 24 bytes into 16 */
    } else if (!strcmp(name, "vsprintf")) {
        r = v_sprintf(p, "%s", digits);
    } else if (!strcmp(name, "vsnprintf")) {
        r = v_snprintf(p, n(20), "%s", digits);
    } else if (!strcmp(name, "sprintf_arg")) {
        char *s = malloc(8);
        memset(s, 'b', 8);
        r = sprintf(stack, "<%s>", s); /* @sprintf_arg: %s reads past s's 8 bytes */
        free(s);
    } else if (!strcmp(name, "snprintf_freed")) {
        free(p);
        r = snprintf(p, n(8), "%d", 1234); /* @snprintf_freed */
        free(w);
        return 0;
    } else if (!strcmp(name, "recvmsg")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        struct msghdr m = {0};
        m.msg_iov = v;
        m.msg_iovlen = 2;
        r = recvmsg(pair[0], &m, 0); /* @recvmsg */
    } else if (!strcmp(name, "sendmsg")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        struct msghdr m = {0};
        m.msg_iov = v;
        m.msg_iovlen = 2;
        r = sendmsg(pair[1], &m, 0); /* @sendmsg */
    } else if (!strcmp(name, "recvmsg_name")) {
        struct iovec v[1] = {{stack, 8}};
        struct msghdr m = {0};
        m.msg_iov = v;
        m.msg_iovlen = 1;
        m.msg_name = p;
        m.msg_namelen = n(20);
        r = recvmsg(pair[0], &m, 0); /* @recvmsg_name */
    } else if (!strcmp(name, "sendmsg_control")) {
        struct iovec v[1] = {{stack, 8}};
        struct msghdr m = {0};
        m.msg_iov = v;
        m.msg_iovlen = 1;
        m.msg_control = p;
        m.msg_controllen = n(20);
        r = sendmsg(pair[1], &m, 0); /* @sendmsg_control */
    } else if (!strcmp(name, "preadv")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        r = preadv(zero, v, 2, 0); /* @preadv */
    } else if (!strcmp(name, "pwritev")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        r = pwritev(null, v, 2, 0); /* @pwritev */
    } else if (!strcmp(name, "preadv2")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        r = preadv2(zero, v, 2, 0, 0); /* @preadv2 */
    } else if (!strcmp(name, "pwritev2")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        r = pwritev2(null, v, 2, 0, 0); /* @pwritev2 */
    } else if (!strcmp(name, "wcscat")) {
        r = wcscat(w, wdigits + 7) != NULL; /* @wcscat: 24 bytes into 16 */
    } else if (!strcmp(name, "wcsncpy")) {
        r = wcsncpy(w, wdigits, n(6)) != NULL; /* @wcsncpy: 24 bytes into 16 */
    } else if (!strcmp(name, "wcsncat")) {
        r = wcsncat(w, wdigits, n(4)) != NULL; /* @wcsncat: 28 bytes into 16 */
    }
    printf("%ld\n", r != 0);
    free(w);
    free(p);
    return 0;
}
