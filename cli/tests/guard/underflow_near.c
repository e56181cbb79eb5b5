/* Reads and writes 1..32 bytes before blocks of several sizes and origins (malloc, calloc,
 * aligned_alloc, realloc), as memcheck's badrw.c does just before a malloc'd block: with
 * `gpa run --guard-underflow` each block starts against its guard page, so every one of them
 * faults at the access. Each access is a call of its own (the PROBE macro expands to distinct
 * call sites), so that Valgrind and gpa report every one: both tell errors apart by their
 * stacks. A write puts back the value already there (it reads it first), so the program does
 * the same under Valgrind, where the bytes before a block are glibc's chunk header. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile uint64_t sink;

__attribute__((noinline)) static void read_1(const char *at) {
    sink += *(const volatile uint8_t *)at;
}
__attribute__((noinline)) static void read_2(const char *at) {
    sink += *(const volatile uint16_t *)at;
}
__attribute__((noinline)) static void read_4(const char *at) {
    sink += *(const volatile uint32_t *)at;
}
__attribute__((noinline)) static void read_8(const char *at) {
    sink += *(const volatile uint64_t *)at;
}
__attribute__((noinline)) static void rewrite_1(char *at) {
    volatile char *byte = at;
    char value = *byte;
    *byte = value;
}

/* 14 accesses, 16 errors (a rewrite is a read and a write) before the block at `p`. */
#define PROBE(p)                                                                         \
    do {                                                                                 \
        read_1((p) - 1);                                                                 \
        read_1((p) - 2);                                                                 \
        read_1((p) - 7);                                                                 \
        read_1((p) - 16);                                                                \
        read_1((p) - 32);                                                                \
        read_2((p) - 2);                                                                 \
        read_2((p) - 32);                                                                \
        read_4((p) - 4);                                                                 \
        read_4((p) - 12);                                                                \
        read_4((p) - 32);                                                                \
        read_8((p) - 8);                                                                 \
        read_8((p) - 32);                                                                \
        rewrite_1((p) - 1);                                                              \
        rewrite_1((p) - 31);                                                             \
    } while (0)

int main(void) {
    char *one = malloc(1);
    char *ten = malloc(10);
    char *sixteen = malloc(16);
    char *hundred = malloc(100);
    char *page = malloc(4000);
    char *aligned = aligned_alloc(64, 128);
    char *zeroed = calloc(3, 7);
    char *grown = malloc(10);
    memset(grown, 'g', 10);
    grown = realloc(grown, 200);
    PROBE(one);
    PROBE(ten);
    PROBE(sixteen);
    PROBE(hundred);
    PROBE(page);
    PROBE(aligned);
    PROBE(zeroed);
    PROBE(grown);
    printf("grown %c, zeroed %d\n", grown[9], zeroed[20]);
    free(one);
    free(ten);
    free(sixteen);
    free(hundred);
    free(page);
    free(aligned);
    free(zeroed);
    free(grown);
    return 0;
}
