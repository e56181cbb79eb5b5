#include "security.h"
/* Frees a block's address plus sixteen. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block + 16);
    survived();
    return 0;
}
