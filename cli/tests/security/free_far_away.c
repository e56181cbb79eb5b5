#include "security.h"
/* Frees the address 1 GiB after a block's start. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block + (1ul << 30));
    survived();
    return 0;
}
