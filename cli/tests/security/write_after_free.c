#include "security.h"
/* Fills a block after freeing it. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    fill_bytes(block, 'x', BLOCK);
    survived();
    return 0;
}
