#include "security.h"
/* Writes the 32nd byte before the start, then frees the block. */
int main(void) {
    char *block = get_block(BLOCK);
    flip_byte(block - 32);
    put_block(block);
    survived();
    return 0;
}
