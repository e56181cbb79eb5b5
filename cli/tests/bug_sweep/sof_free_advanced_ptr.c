/* https://github.com/thesofproject/sof/pull/3320
 * testbench: the array pointer is advanced while filling it and then passed to free(): an
 * invalid free of an address inside the block (and the block itself leaks). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    int *array = malloc(16 * sizeof(int));
    for (int i = 0; i < 4; i++)
        *array++ = i;
    printf("%d\n", array[-1]);
    free(array); /* the bug: 16 bytes inside the block */
    return 0;
}
