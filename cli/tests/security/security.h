/* Shared helpers of gpa's security cases (cli/tests/security.rs builds each case at three
 * block sizes: -DBLOCK=8, 4096 and 262144). Each case plants one memory mistake of a kind
 * that mimalloc-bench's bench/security folder tests; the helpers are kept out of line so the
 * compiler cannot see through them and the traces name them. */
#ifndef GPA_SECURITY_H
#define GPA_SECURITY_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BLOCK
#define BLOCK 8
#endif

#define KEEP __attribute__((noinline, used))

/* Printed when the program gets past its mistake (whether or not a report follows). */
static void survived(void) {
    fputs("survived\n", stdout);
    fflush(stdout);
}

KEEP char *get_block(size_t size) { return malloc(size); }
KEEP void put_block(void *block) { free(block); }
KEEP void copy_bytes(void *to, const void *from, size_t count) { memcpy(to, from, count); }
KEEP void fill_bytes(void *to, int value, size_t count) { memset(to, value, count); }
KEEP int load_byte(const char *at) { return *(volatile const char *)at; }
KEEP void flip_byte(char *at) { *(volatile char *)at ^= 0x5a; }
KEEP void store_byte(char *at, char value) { *(volatile char *)at = value; }
#endif
