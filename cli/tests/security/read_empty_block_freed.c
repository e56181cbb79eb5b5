#include "security.h"
/* Reads the first byte of a malloc(0) block, then frees it. */
int main(void) {
    char *block = get_block(0);
    if (block == NULL)
        return 1;
    printf("%d\n", load_byte(block));
    put_block(block);
    survived();
    return 0;
}
