#include "security.h"
/* Reads the last byte of a block after freeing it. */
int main(void) {
    char *block = get_block(BLOCK);
    fill_bytes(block, 3, BLOCK);
    put_block(block);
    printf("%d\n", load_byte(block + BLOCK - 1));
    survived();
    return 0;
}
