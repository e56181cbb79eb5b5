#include "security.h"
/* Copies a block's worth of bytes starting a mebibyte early; the block is never freed. */
static char source[BLOCK];
int main(void) {
    char *block = get_block(BLOCK);
    copy_bytes(block - (1 << 20), source, sizeof source);
    survived();
    return 0;
}
