#include "security.h"
/* Frees the address 4 KiB after a block's start. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block + 4096);
    survived();
    return 0;
}
