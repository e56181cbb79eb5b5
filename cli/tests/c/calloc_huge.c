/* Large callocs in check and guard modes: zeros everywhere, without making untouched pages
   resident. glibc serves a large calloc from a fresh mapping and does not clear it (the
   kernel's pages are zero), so natively `calloc(16 GiB)` costs almost no memory; check and
   guard modes cleared the whole block (16 GiB resident, and two such blocks got the process
   OOM-killed on a 24 GiB machine).

   Steps: calloc SIZE bytes (argv[1] in MiB, default 16384), check a byte in every 64 MiB and
   the last one are zero, print the resident growth; then a 64 MiB calloc written all over
   with 0x5a and freed, and a 64 MiB calloc again (which may reuse its memory): every byte
   must be zero. Prints "zero" or the first nonzero offset, then "done". Natively and under
   Valgrind 3.19 (with SIZE 1024: Valgrind clears a calloc'd block itself): "zero" twice,
   no error, all heap blocks freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* VmRSS in KiB. */
static long resident_kib(void) {
    FILE *status = fopen("/proc/self/status", "r");
    if (!status) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
    fclose(status);
    return kib;
}

static void check_zero(const char *what, const unsigned char *block, size_t size, size_t stride) {
    for (size_t at = 0; at < size; at += stride) {
        if (block[at]) {
            printf("%s nonzero at %zu\n", what, at);
            return;
        }
    }
    if (block[size - 1]) {
        printf("%s nonzero at %zu\n", what, size - 1);
        return;
    }
    printf("%s zero\n", what);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16384;
    size_t size = mib << 20;
    long before = resident_kib();
    unsigned char *huge = calloc(1, size);
    if (!huge) {
        printf("huge calloc failed\n");
        return 1;
    }
    check_zero("huge", huge, size, 64 << 20);
    long grown = resident_kib() - before;
    printf("resident growth %s\n", grown < 256 * 1024 ? "small" : "large");
    fprintf(stderr, "resident growth %ld KiB\n", grown);
    free(huge);

    size_t middle = 64 << 20;
    unsigned char *dirty = calloc(1, middle);
    if (!dirty) return 1;
    memset(dirty, 0x5a, middle);
    free(dirty);
    unsigned char *again = calloc(1, middle);
    if (!again) return 1;
    check_zero("again", again, middle, 1);
    free(again);
    puts("done");
    return 0;
}
