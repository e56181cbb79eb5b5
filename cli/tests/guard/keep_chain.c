/* Guard mode keeps a freed block's contents: a pointer chain through two freed blocks. */
#include <stdio.h>
#include <stdlib.h>

struct inner {
    int value;
};

struct outer {
    struct inner *inner;
};

int main(void) {
    struct outer *outer = malloc(sizeof *outer);
    outer->inner = malloc(sizeof *outer->inner);
    outer->inner->value = 7;
    free(outer->inner);
    free(outer);
    printf("value %d\n", outer->inner->value);
    return 0;
}
