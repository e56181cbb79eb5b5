#include "security.h"
/* Writes the 32nd byte past the end, then frees the block. */
int main(void) {
    char *block = get_block(BLOCK);
    flip_byte(block + BLOCK + 31);
    put_block(block);
    survived();
    return 0;
}
