#include "security.h"
/* Writes the byte just before the start, then frees the block. */
int main(void) {
    char *block = get_block(BLOCK);
    flip_byte(block - 1);
    put_block(block);
    survived();
    return 0;
}
