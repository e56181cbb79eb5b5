#include "security.h"
/* Copies a block's worth of bytes starting 32 bytes early; the block is never freed. */
static char source[BLOCK];
int main(void) {
    char *block = get_block(BLOCK);
    copy_bytes(block - 32, source, sizeof source);
    survived();
    return 0;
}
