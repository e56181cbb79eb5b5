/* Leak roots: shared writable mappings, anonymous or backed by a file, hold real references
 * (Valgrind scans them): the 777- and 888-byte blocks stay reachable; the 999-byte block,
 * whose only pointer is in a private mapping unmapped before exit, is definitely lost. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    void **anonymous = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    anonymous[3] = malloc(777);
    char path[] = "/tmp/gpa-shared-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0) return 1;
    void **file = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    file[5] = malloc(888);
    void **gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gone[7] = malloc(999);
    munmap(gone, 4096);
    anonymous = NULL;
    file = NULL;
    puts("done");
    return 0;
}
