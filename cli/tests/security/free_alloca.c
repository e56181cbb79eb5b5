#include <alloca.h>
#include "security.h"
/* Frees memory from alloca. */
int main(void) {
    char *on_stack = alloca(BLOCK);
    on_stack[0] = 1;
    put_block(on_stack);
    survived();
    return 0;
}
