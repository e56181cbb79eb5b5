/* Guard mode keeps a freed block's contents only for the most recently freed blocks: a block
 * read after 5,000 more page-sized blocks (20,480,000 bytes) were freed after it has left
 * the window (20,000,000 bytes by default, `--quarantine` sets it), and is read as zeros;
 * with a larger window, as under Valgrind with a larger `--freelist-vol`, it is read as it
 * was. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    int *early = malloc(16);
    early[0] = 1234;
    free(early);
    for (int i = 0; i < 5000; i++) {
        char *page = malloc(4096);
        page[0] = 1;
        free(page);
    }
    printf("early %d\n", early[0]);
    return 0;
}
