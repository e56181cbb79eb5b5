#include "security.h"
/* No mistake: allocates, fills, frees and reallocates blocks of the size and half of it. */
int main(void) {
    for (int round = 0; round < 100; round++) {
        char *block = get_block(BLOCK);
        fill_bytes(block, round, BLOCK);
        char *half = get_block(BLOCK / 2);
        fill_bytes(half, round, BLOCK / 2);
        put_block(block);
        put_block(half);
    }
    survived();
    return 0;
}
