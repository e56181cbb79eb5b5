/* Guard mode with --guard-underflow: writes the byte before a block. */
#include <stdlib.h>

__attribute__((noinline)) static char *make_buffer(void) { return malloc(40); }

__attribute__((noinline)) static void clear_from_before(char *buffer) {
    for (int index = -1; index < 40; index++)
        buffer[index] = 0;
}

int main(void) {
    char *buffer = make_buffer();
    clear_from_before(buffer);
    free(buffer);
    return 0;
}
