/* flex reads its input with fread only and never closes it: the stream stays unoriented, and
 * glibc's __libc_freeres frees the buffers of oriented streams only. Valgrind calls it after
 * exit's own stdio cleanup (which orients every stream), so the 4,096-byte buffer is freed
 * there; gpa's report, made from an exit function before that cleanup, kept it "still
 * reachable". Argument: "read" (default) reads this file to its end with fread; "write"
 * writes a file with fwrite only and leaves it open; "_exit" reads as "read", then ends with
 * _exit (no stdio cleanup: under Valgrind the buffer stays too). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "read";
    static char buffer[8192];
    if (strcmp(how, "write") == 0) {
        FILE *out = fopen("prog_fread_buffer.out", "w");
        if (out == NULL)
            return 1;
        memset(buffer, 'w', 100);
        fwrite(buffer, 1, 100, out);
        puts("written");
        return 0;
    }
    FILE *in = fopen(__FILE__, "r");
    if (in == NULL)
        in = fopen("/etc/passwd", "r");
    if (in == NULL)
        return 1;
    size_t total = 0, got;
    while ((got = fread(buffer, 1, sizeof buffer, in)) > 0)
        total += got;
    printf("read %s\n", total > 0 ? "some" : "nothing");
    if (strcmp(how, "_exit") == 0) {
        fflush(stdout);
        _exit(0);
    }
    return 0;
}
