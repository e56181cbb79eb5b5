/* Planted bug: a write into a freed block (allocated in make_session). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static long *make_session(void) { return malloc(64); }

int main(void) {
    long *session = make_session();
    session[0] = 1;
    free(session);
    session[2] = 42;
    puts("write after free done");
    return 0;
}
