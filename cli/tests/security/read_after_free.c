#include "security.h"
/* Sums a block's bytes after freeing it. */
int main(void) {
    char *block = get_block(BLOCK);
    fill_bytes(block, 3, BLOCK);
    put_block(block);
    long sum = 0;
    for (int index = 0; index < BLOCK; index++)
        sum += load_byte(block + index);
    printf("%ld\n", sum);
    survived();
    return 0;
}
