/* coreutils seq's fast path, reduced: exit() is called while the only start pointers to two
   blocks live in callee-saved registers (or exit's spill of them), with interior pointers
   (bufp) beside them. Valgrind 3.19: buf (8192 bytes) and p (32) still reachable.
   gcc -O2 -g exit_regs.c -o exit_regs (the test runs it with 3: three lines of output) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) static void fill(char *p, size_t n) { memset(p, '1', n); }
__attribute__((noinline)) static void run(long last) {
    char *p = malloc(32);
    char *buf = malloc(8192);
    char *bufp = buf;
    char const *buf_end = buf + 8192;
    fill(p, 31); p[31] = 0;
    for (long i = 0; i < last; i++) {
        size_t len = strlen(p);
        if (buf_end - bufp < (long)len + 1) { fwrite(buf, bufp - buf, 1, stdout); bufp = buf; }
        memcpy(bufp, p, len); bufp += len; *bufp++ = '\n';
    }
    if (buf < bufp && fwrite(buf, bufp - buf, 1, stdout) != 1) abort();
    exit(0);
}
int main(int argc, char **argv) { run(argc > 1 ? atol(argv[1]) : 300); return 1; }
