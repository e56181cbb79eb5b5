#include "security.h"
/* Fills a block after freeing it, then allocates and frees many blocks of its size. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    fill_bytes(block, 'x', BLOCK);
    for (int round = 0; round < 20000; round++)
        put_block(get_block(BLOCK));
    survived();
    return 0;
}
