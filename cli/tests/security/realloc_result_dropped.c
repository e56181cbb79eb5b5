#include "security.h"
/* Grows a block with realloc and drops the result: the new block leaks. */
int main(void) {
    char *block = get_block(BLOCK);
    void *grown = realloc(block, 2 * BLOCK + 4096);
    printf("%d\n", grown != NULL);
    grown = NULL;
    survived();
    return 0;
}
