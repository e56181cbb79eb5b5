/* Guard mode keeps a freed block's contents: a freed struct's fields read after the free
 * and used, one to index an array, one to call through. */
#include <stdio.h>
#include <stdlib.h>

struct ops {
    int index;
    int (*call)(int);
};

static int twice(int x) { return 2 * x; }

static int table[4] = {10, 20, 30, 40};

int main(void) {
    struct ops *ops = malloc(sizeof *ops);
    ops->index = 2;
    ops->call = twice;
    free(ops);
    int value = table[ops->index];
    int result = ops->call(value);
    printf("value %d result %d\n", value, result);
    return 0;
}
