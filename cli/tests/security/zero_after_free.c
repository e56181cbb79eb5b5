#include "security.h"
/* Writes zeros over a whole block after freeing it. */
int main(void) {
    char *block = get_block(BLOCK);
    fill_bytes(block, 'x', BLOCK);
    put_block(block);
    fill_bytes(block, 0, BLOCK);
    survived();
    return 0;
}
