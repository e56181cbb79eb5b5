#include "security.h"
/* Copies a mebibyte too much into a block that is never freed. */
static char source[BLOCK + (1 << 20)];
int main(void) {
    char *block = get_block(BLOCK);
    copy_bytes(block, source, sizeof source);
    survived();
    return 0;
}
