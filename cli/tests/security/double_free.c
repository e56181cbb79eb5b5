#include "security.h"
/* Frees the same block twice in a row. */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    put_block(block);
    survived();
    return 0;
}
