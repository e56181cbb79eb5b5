#include "security.h"
/* Reads the first byte of a malloc(0) block after freeing it. */
int main(void) {
    char *block = get_block(0);
    if (block == NULL)
        return 1;
    put_block(block);
    printf("%d\n", load_byte(block));
    survived();
    return 0;
}
