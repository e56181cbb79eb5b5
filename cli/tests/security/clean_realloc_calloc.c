#include "security.h"
/* No mistake: realloc up and down, calloc, malloc(0), huge requests that fail. */
int main(void) {
    char *block = get_block(BLOCK);
    fill_bytes(block, 1, BLOCK);
    block = realloc(block, 3 * BLOCK);
    fill_bytes(block, 2, 3 * BLOCK);
    block = realloc(block, BLOCK / 2 + 1);
    load_byte(block + BLOCK / 2);
    put_block(block);
    char *zeroed = calloc(BLOCK, 2);
    long sum = 0;
    for (int index = 0; index < 2 * BLOCK; index++)
        sum += zeroed[index];
    put_block(zeroed);
    put_block(get_block(0));
    void *huge = malloc((size_t)-2);
    printf("%ld %d\n", sum, huge == NULL);
    survived();
    return 0;
}
