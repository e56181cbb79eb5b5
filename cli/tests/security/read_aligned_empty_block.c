#include "security.h"
/* Reads the first byte of an aligned_alloc(64, 0) block (which has none); never frees it. */
int main(void) {
    char *block = aligned_alloc(64, 0);
    if (block == NULL)
        return 1;
    printf("%d\n", load_byte(block + (BLOCK & 0)));
    survived();
    return 0;
}
