#include "security.h"
/* Loses the only pointer to a malloc(0) block. */
static void KEEP lose(void) {
    char *volatile block = get_block(0);
    block = NULL;
}
int main(void) {
    lose();
    survived();
    return 0;
}
