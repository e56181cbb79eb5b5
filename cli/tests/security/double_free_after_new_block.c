#include "security.h"
/* Frees a block, allocates another of the same size, then frees the first again. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    char *other = get_block(BLOCK);
    put_block(block);
    put_block(other);
    survived();
    return 0;
}
