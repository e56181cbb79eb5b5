/* The program of onexit_library_so.c: it uses the library's buffer and returns. The buffer
 * is freed by the library's `on_exit` function. Valgrind 3.19: all heap blocks were freed. */
#include <stdio.h>

const char *onexit_library_text(void);

int main(void) {
    printf("%s\n", onexit_library_text());
    return 0;
}
