/* One planted bug per case through the libc functions of cli/tests/libc_calls_more.rs:
 * `more CASE`. Sizes come from a volatile so that no call is inlined or folded; the call of
 * each case is the line marked `@CASE` (the test looks it up). `p` is a 16-byte block of 'a's
 * without a terminator; `w` a 16-byte block of four wide 'a's without one. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>
#include <wchar.h>

static volatile size_t eight = 8;
static char digits[] = "0123456789abcdefXYZ";
static wchar_t wdigits[] = L"0123456789";

static size_t n(size_t value) { return value + eight - 8; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char stack[64];
    wchar_t wstack[16];
    memset(stack, 'a', 63);
    stack[63] = 0;
    wmemset(wstack, L'a', 15);
    wstack[15] = 0;
    int zero = open("/dev/zero", O_RDONLY);
    int null = open("/dev/null", O_WRONLY);
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    send(pair[1], digits, 20, 0);
    FILE *in = fopen("/dev/zero", "r");
    FILE *out = fopen("/dev/null", "w");
    char *p = malloc(16);
    memset(p, 'a', 16);
    wchar_t *w = malloc(16);
    wmemset(w, L'a', 4);
    long r = 0;
    if (!strcmp(name, "strrchr")) {
        r = strrchr(p, 'z') != NULL; /* @strrchr */
    } else if (!strcmp(name, "strrchr_freed")) {
        free(p);
        r = strrchr(p, 'z') != NULL; /* @strrchr_freed */
        free(w);
        return (int)r;
    } else if (!strcmp(name, "strstr")) {
        r = strstr(p, digits) != NULL; /* @strstr */
    } else if (!strcmp(name, "strcasestr")) {
        r = strcasestr(p, digits) != NULL; /* @strcasestr */
    } else if (!strcmp(name, "strpbrk")) {
        r = strpbrk(p, "xyz") != NULL; /* @strpbrk */
    } else if (!strcmp(name, "strcspn")) {
        r = strcspn(p, "xyz"); /* @strcspn */
    } else if (!strcmp(name, "strspn")) {
        r = strspn(p, "a"); /* @strspn */
    } else if (!strcmp(name, "memrchr")) {
        r = memrchr(p, 'z', n(20)) != NULL; /* @memrchr */
    } else if (!strcmp(name, "rawmemchr")) {
        r = rawmemchr(p + 8, 0) != NULL; /* @rawmemchr: the next NUL is past the block */
    } else if (!strcmp(name, "strcasecmp")) {
        r = strcasecmp(p, stack); /* @strcasecmp */
    } else if (!strcmp(name, "strncasecmp")) {
        r = strncasecmp(p, stack, n(20)); /* @strncasecmp */
    } else if (!strcmp(name, "stpncpy")) {
        r = stpncpy(p, "abc", n(20)) != NULL; /* @stpncpy */
    } else if (!strcmp(name, "memccpy")) {
        r = memccpy(p, stack, 'z', n(20)) != NULL; /* @memccpy */
    } else if (!strcmp(name, "bcopy")) {
        void (*volatile call)(const void *, void *, size_t) = bcopy; /* not memmove */
        call(stack, p, n(20)); /* @bcopy */
    } else if (!strcmp(name, "bzero")) {
        void (*volatile call)(void *, size_t) = bzero; /* not memset */
        call(p, n(20)); /* @bzero */
    } else if (!strcmp(name, "explicit_bzero")) {
        free(p);
        explicit_bzero(p + 4, n(4)); /* @explicit_bzero */
        free(w);
        return 0;
    } else if (!strcmp(name, "strdup")) {
        char *d = strdup(p); /* @strdup */
        r = d[0];
        free(d);
    } else if (!strcmp(name, "strndup")) {
        char *d = strndup(p, n(20)); /* @strndup */
        r = d[0];
        free(d);
    } else if (!strcmp(name, "wcslen")) {
        r = wcslen(w); /* @wcslen */
    } else if (!strcmp(name, "wcsnlen")) {
        r = wcsnlen(w, n(8)); /* @wcsnlen */
    } else if (!strcmp(name, "wcscpy")) {
        r = wcscpy(w, wdigits) != NULL; /* @wcscpy: 44 bytes into 16 */
    } else if (!strcmp(name, "wcscmp")) {
        r = wcscmp(w, wstack); /* @wcscmp */
    } else if (!strcmp(name, "wcschr")) {
        r = wcschr(w, L'z') != NULL; /* @wcschr */
    } else if (!strcmp(name, "wcsrchr")) {
        r = wcsrchr(w, L'z') != NULL; /* @wcsrchr */
    } else if (!strcmp(name, "wmemchr")) {
        r = wmemchr(w, L'z', n(6)) != NULL; /* @wmemchr */
    } else if (!strcmp(name, "wmemcmp")) {
        r = wmemcmp(w, wstack, n(6)); /* @wmemcmp */
    } else if (!strcmp(name, "wmemcpy")) {
        r = wmemcpy(w, wstack, n(6)) != NULL; /* @wmemcpy */
    } else if (!strcmp(name, "wmemset")) {
        r = wmemset(w, L'b', n(6)) != NULL; /* @wmemset */
    } else if (!strcmp(name, "read")) {
        r = read(zero, p, n(20)); /* @read */
    } else if (!strcmp(name, "read_freed")) {
        free(p);
        r = read(zero, p, n(8)); /* @read_freed */
        free(w);
        return 0;
    } else if (!strcmp(name, "write")) {
        r = write(null, p, n(20)); /* @write */
    } else if (!strcmp(name, "pread64")) {
        r = pread(zero, p, n(20), 0); /* @pread64 */
    } else if (!strcmp(name, "pwrite64")) {
        r = pwrite(null, p, n(20), 0); /* @pwrite64 */
    } else if (!strcmp(name, "recv")) {
        r = recv(pair[0], p, n(20), 0); /* @recv */
    } else if (!strcmp(name, "recvfrom")) {
        r = recvfrom(pair[0], p, n(20), 0, NULL, NULL); /* @recvfrom */
    } else if (!strcmp(name, "send")) {
        r = send(pair[1], p, n(20), 0); /* @send */
    } else if (!strcmp(name, "sendto")) {
        r = sendto(pair[1], p, n(20), 0, NULL, 0); /* @sendto */
    } else if (!strcmp(name, "readv")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        r = readv(zero, v, 2); /* @readv */
    } else if (!strcmp(name, "writev")) {
        struct iovec v[2] = {{stack, 8}, {p, n(20)}};
        r = writev(null, v, 2); /* @writev */
    } else if (!strcmp(name, "fread")) {
        r = fread(p, 1, n(20), in); /* @fread */
    } else if (!strcmp(name, "fwrite")) {
        r = fwrite(p, 1, n(20), out); /* @fwrite */
        fflush(out);
    } else if (!strcmp(name, "puts")) {
        fflush(stdout);
        int saved = dup(1);
        dup2(null, 1);
        r = puts(p) >= 0; /* @puts */
        fflush(stdout);
        dup2(saved, 1);
    } else if (!strcmp(name, "fputs_freed")) {
        free(p);
        r = fputs(p, out) >= 0; /* @fputs_freed */
        fflush(out);
        free(w);
        printf("%ld\n", r != 0);
        return 0;
    } else if (!strcmp(name, "fputs_unlocked")) {
        r = fputs_unlocked(p, out) >= 0; /* @fputs_unlocked */
        fflush(out);
    } else if (!strcmp(name, "fgets")) {
        FILE *line = tmpfile();
        fputs(digits, line);
        fputs("\n", line);
        rewind(line);
        r = fgets(p, n(20), line) != NULL; /* @fgets: 19 bytes and a NUL into 16 */
    }
    printf("%ld\n", r != 0);
    fclose(in);
    fclose(out);
    free(w);
    free(p);
    return 0;
}
