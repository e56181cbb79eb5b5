#include "security.h"
/* Frees a block, allocates and frees 2000 blocks of the same size, then frees it again. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    for (int round = 0; round < 2000; round++)
        put_block(get_block(BLOCK));
    put_block(block);
    survived();
    return 0;
}
