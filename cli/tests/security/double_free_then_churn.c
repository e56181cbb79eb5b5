#include "security.h"
/* Frees a block twice, then keeps allocating and freeing the same size (a freelist that took
 * the block twice would hand it out twice). */
int main(void) {
    char *block = get_block(BLOCK);
    put_block(block);
    put_block(block);
    unsigned long seen = 0;
    for (int round = 0; round < 20000; round++) {
        char *again = get_block(BLOCK);
        seen += again == block;
        put_block(again);
    }
    printf("handed back %lu times\n", seen);
    survived();
    return 0;
}
