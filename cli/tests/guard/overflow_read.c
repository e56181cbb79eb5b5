/* Guard mode: reads one byte past the end of a 128-byte block (its end touches the guard). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned char *make_table(void) {
    unsigned char *table = malloc(128);
    for (int index = 0; index < 128; index++)
        table[index] = index;
    return table;
}

__attribute__((noinline)) static int sum_one_too_many(const unsigned char *table) {
    int sum = 0;
    for (int index = 0; index <= 128; index++)
        sum += table[index];
    return sum;
}

int main(void) {
    unsigned char *table = make_table();
    printf("sum: %d\n", sum_one_too_many(table));
    free(table);
    return 0;
}
