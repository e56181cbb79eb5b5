/* https://github.com/HaxeFoundation/hashlink/issues/104
 * hl_code_read(): a table allocated in a 4096-byte block is freed (hl_free) on an error path
 * and then written: an 8-byte write 88 bytes inside the freed block. */
#include <stdio.h>
#include <stdlib.h>

struct code {
    void **functions;
};

static void hl_free(struct code *c) { free(c->functions); }

int main(void) {
    struct code c;
    c.functions = malloc(4096);
    hl_free(&c);            /* the error path frees the table */
    c.functions[11] = &c;   /* the bug: 88 bytes inside */
    puts("done");
    return 0;
}
