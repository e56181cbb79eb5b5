#include "security.h"
/* Writes one byte a mebibyte past the end, then frees the block. */
int main(void) {
    char *block = get_block(BLOCK);
    flip_byte(block + BLOCK + (1 << 20) - 1);
    put_block(block);
    survived();
    return 0;
}
