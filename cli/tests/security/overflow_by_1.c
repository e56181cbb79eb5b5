#include "security.h"
/* Writes the byte just past the end, then frees the block. */
int main(void) {
    char *block = get_block(BLOCK);
    flip_byte(block + BLOCK);
    put_block(block);
    survived();
    return 0;
}
