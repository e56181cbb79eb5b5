#include "security.h"
/* Reads the first byte of a calloc(0, n) block (which has none), then frees it. */
int main(void) {
    char *block = calloc(0, BLOCK);
    if (block == NULL)
        return 1;
    printf("%d\n", load_byte(block));
    put_block(block);
    survived();
    return 0;
}
