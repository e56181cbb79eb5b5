#include "security.h"
/* Copies one byte too many into a block that is never freed. */
static char source[BLOCK + 1];
int main(void) {
    char *block = get_block(BLOCK);
    copy_bytes(block, source, sizeof source);
    survived();
    return 0;
}
