#include "security.h"
/* Writes a zero into the last byte of a block after freeing it. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    store_byte(block + BLOCK - 1, 0);
    survived();
    return 0;
}
