/* Run with stdout and stderr closed (`prog >&- 2>&-`): opens argv[1] (it gets descriptor 1)
 * and argv[2] (descriptor 2), writes a line to each through the descriptors, leaks 24 bytes
 * and exits 0. A report written "to stderr" would land in argv[2]. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int a = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int b = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char line[64];
    int n = snprintf(line, sizeof line, "first fd %d\n", a);
    write(a, line, n);
    n = snprintf(line, sizeof line, "second fd %d\n", b);
    write(b, line, n);
    char *lost = malloc(24);
    memset(lost, 3, 24);
    lost = NULL;
    return 0;
}
