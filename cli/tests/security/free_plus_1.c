#include "security.h"
/* Frees a block's address plus one. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block + 1);
    survived();
    return 0;
}
