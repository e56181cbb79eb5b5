/* https://github.com/acassen/keepalived/issues/2634
 * read_line(): strchr() on a line buffer that an earlier step had already freed
 * (heap-use-after-free READ in strchr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *buf;

static void process_stream(void) {
    buf = strdup("vrrp_instance VI_1 {");
    free(buf); /* freed by the include handling, pointer kept */
}

static int read_line(void) {
    return strchr(buf, '{') != NULL; /* the bug */
}

int main(void) {
    process_stream();
    printf("brace: %d\n", read_line());
    return 0;
}
