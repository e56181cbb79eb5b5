/* Reduced from mawk (Debian 1.3.4) run as `mawk -F: '{...} END{...}' FILE`: mawk shrinks its
 * compiled code with realloc (168 bytes) and calls exit() while the only pointer to the block
 * is an interior one (code + 160) held in a callee-saved register (r13) of the frame that
 * calls exit. Valgrind 3.19: 168 bytes in 1 blocks possibly lost. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *compile(void)
{
    char *code = malloc(1024);
    memset(code, 'c', 1024);
    return realloc(code, 168);
}

int main(void)
{
    char *code = compile();
    /* Keep only code + 160, in r13, across the call to exit. */
    __asm__ volatile("lea 160(%0), %%r13" : : "r"(code) : "r13");
    code = 0;
    exit(0);
}
