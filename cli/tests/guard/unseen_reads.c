/* One read just outside a block, for the line a clean run ends with ("which reads this mode
 * cannot see"):
 *   unseen_reads before SIZE   reads the byte before a SIZE-byte block
 *   unseen_reads past SIZE     reads the byte after its end
 * Memcheck reports either read at the access ("Invalid read of size 1 ... 1 bytes before a
 * block of size 100 alloc'd", "... 0 bytes after a block of size 100 alloc'd"). gpa's check
 * mode sees neither; guard mode sees the byte past the end of a block with no alignment slack
 * (96 bytes) or with --guard-flush, and the byte before with --guard-underflow only. The block
 * is freed, so a clean run has nothing else to say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static int read_byte(const volatile char *at) {
    return *at;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: unseen_reads before|past SIZE\n");
        return 2;
    }
    size_t size = strtoul(argv[2], NULL, 10);
    char *block = malloc(size);
    memset(block, 'b', size);
    const char *at = !strcmp(argv[1], "before") ? block - 1 : block + size;
    int value = read_byte(at);
    free(block);
    printf("read %s\n", value == 'b' ? "inside" : "outside");
    return 0;
}
