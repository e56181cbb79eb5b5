/* Guard and check modes go on after a fault on gpa's guards, as Valgrind does: every site is
 * reported once, the program finishes with its own output and status, and the leak verdict is
 * made at exit. Four sites (one of them faulting 1000 times), then a leak of 33 bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static int read_freed(const int *block) { return block[1]; }

__attribute__((noinline)) static void write_freed(int *block) { block[2] = 7; }

__attribute__((noinline)) static long sum_one_too_many(const long *table, int count) {
    long sum = 0;
    for (int index = 0; index <= count; index++)
        sum += table[index];
    return sum;
}

__attribute__((noinline)) static void write_past_end(char *buffer, int size) {
    buffer[size] = 'x';
}

__attribute__((noinline)) static char *keep(size_t size) { return malloc(size); }

int main(void) {
    int *freed = malloc(64);
    memset(freed, 1, 64);
    free(freed);
    int total = 0;
    for (int round = 0; round < 1000; round++)
        total += read_freed(freed);
    write_freed(freed);
    long *table = malloc(16 * sizeof(long));
    for (int index = 0; index < 16; index++)
        table[index] = index;
    total += (int)sum_one_too_many(table, 16);
    char *buffer = malloc(4096);
    write_past_end(buffer, 4096);
    free(buffer);
    free(table);
    char *leaked = keep(33);
    leaked[0] = 0;
    printf("total %d\n", total);
    return 3;
}
