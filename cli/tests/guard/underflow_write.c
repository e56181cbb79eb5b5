/* Guard mode with --guard-underflow: clears from 40 bytes before a block (in the guard page
 * the block starts against). */
#include <stdlib.h>

__attribute__((noinline)) static char *make_buffer(void) { return malloc(40); }

__attribute__((noinline)) static void clear_from_before(char *buffer) {
    for (int index = -40; index < 40; index++)
        buffer[index] = 0;
}

int main(void) {
    char *buffer = make_buffer();
    clear_from_before(buffer);
    free(buffer);
    return 0;
}
