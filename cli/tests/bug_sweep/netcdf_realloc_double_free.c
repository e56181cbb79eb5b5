/* https://github.com/Unidata/netcdf-c/pull/1219
 * memio: newmem = realloc(memio->memory, newsize); ... free(memio->memory): the old block was
 * already freed by realloc when it moved: a double free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct memio {
    char *memory;
    size_t alloc;
};

int main(void) {
    struct memio m = {malloc(64), 64};
    memset(m.memory, 1, 64);
    char *newmem = realloc(m.memory, 1 << 20); /* moves */
    if (newmem != m.memory)
        free(m.memory); /* the bug */
    m.memory = newmem;
    printf("%d\n", m.memory[63]);
    free(m.memory);
    return 0;
}
