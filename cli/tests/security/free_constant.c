#include "security.h"
/* Frees an address that was never allocated (a small integer). */
int main(void) {
    put_block((void *)16);
    survived();
    return 0;
}
