#include "security.h"
/* Frees a local array. */
int main(void) {
    char local[BLOCK];
    local[0] = 1;
    put_block(local);
    survived();
    return 0;
}
