#include "security.h"
/* Frees a, then b, then a again. */
int main(void) {
    char *first = get_block(BLOCK);
    char *second = get_block(BLOCK);
    put_block(first);
    put_block(second);
    put_block(first);
    survived();
    return 0;
}
