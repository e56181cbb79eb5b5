#include "security.h"
/* Writes one byte into the middle of a block after freeing it. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    store_byte(block + BLOCK / 2 + 1, 'x');
    survived();
    return 0;
}
