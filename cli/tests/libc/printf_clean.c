/* Legitimate use of the stream, descriptor and new-string formatting calls and the vector
 * message calls (cli/tests/libc_calls.rs): heap strings read exactly to their terminator or
 * their precision (`%.8s` of 8 unterminated bytes, `%.4ls` of 4 unterminated wide
 * characters, `%.0ls`), heap formats, every kind of argument, `*` widths and precisions,
 * `%%`, `%n`, output through stdout, a stream, a descriptor and new strings; `recvmmsg` and
 * `sendmmsg` with heap buffers of the exact size. The output is the same with or without gpa
 * (Valgrind 3.19: 0 errors, all heap blocks freed). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wchar.h>

static int v_all(FILE *to, int fd, char **out, const char *format, ...) {
    va_list ap, copy;
    va_start(ap, format);
    va_copy(copy, ap);
    int r = vfprintf(to, format, copy);
    va_end(copy);
    va_copy(copy, ap);
    r += vdprintf(fd, format, copy);
    va_end(copy);
    va_copy(copy, ap);
    r += vasprintf(out, format, copy);
    va_end(copy);
    va_copy(copy, ap);
    r += vprintf(format, copy);
    va_end(copy);
    va_end(ap);
    return r;
}

int main(void) {
    char *s = malloc(8);
    memset(s, 'b', 8);
    char *word = strdup("heap-word");
    wchar_t *w = malloc(16);
    for (int i = 0; i < 4; i++) w[i] = L'a';
    wchar_t *wide = wcsdup(L"wide");
    char *format = strdup("[%s|%5.2f|%-4d|%x|%c|%p|%%|%.8s|%.4ls|%.0ls|%ls|%*.*s]\n");
    int written = 0;
    for (int i = 0; i < 100; i++) {
        printf("%d %s %.8s %.*s %ld %lld %hhd %zu %Lf %g%n\n", i, word, s, 3, s, (long)i * 1000,
               (long long)i << 40, (char)i, (size_t)i, (long double)i / 3, i / 7.0, &written);
    }
    printf(format, word, 3.14159, 42, 255, 'z', (void *)0, s, w, w, wide, 6, 2, word);
    fprintf(stdout, "fprintf %s %.8s %d\n", word, s, written);
    fflush(stdout);
    dprintf(1, "dprintf %s %.4ls\n", word, w);
    char *out = NULL;
    int r = asprintf(&out, "asprintf %s %.8s", word, s);
    printf("%s (%d)\n", out, r);
    free(out);
    char *again = NULL;
    fflush(stdout);
    r = v_all(stdout, 1, &again, "v_all %s %.8s %ls\n", word, s, wide);
    fflush(stdout);
    printf("%s", again);
    free(again);

    int pair[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    char *a = malloc(4), *b = malloc(6), *c = malloc(4), *d = malloc(6);
    memcpy(a, "one", 4);
    memcpy(b, "three", 6);
    struct iovec sent[2] = {{a, 4}, {b, 6}}, got[2] = {{c, 4}, {d, 6}};
    struct mmsghdr m[2];
    memset(m, 0, sizeof m);
    m[0].msg_hdr.msg_iov = &sent[0];
    m[0].msg_hdr.msg_iovlen = 1;
    m[1].msg_hdr.msg_iov = &sent[1];
    m[1].msg_hdr.msg_iovlen = 1;
    int sent_count = sendmmsg(pair[1], m, 2, 0);
    m[0].msg_hdr.msg_iov = &got[0];
    m[1].msg_hdr.msg_iov = &got[1];
    int got_count = recvmmsg(pair[0], m, 2, 0, NULL);
    printf("mmsg %d %d %s %s %u %u\n", sent_count, got_count, c, d, m[0].msg_len, m[1].msg_len);
    free(a);
    free(b);
    free(c);
    free(d);
    free(format);
    free(wide);
    free(w);
    free(word);
    free(s);
    return 0;
}
