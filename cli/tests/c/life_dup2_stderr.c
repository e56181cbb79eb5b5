/* Puts the file argv[1] over descriptor 2 (dup2), writes one line to stderr, leaks 32 bytes
 * and exits 0: the file must hold only the program's line. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 2) != 2) return 1;
    close(fd);
    fprintf(stderr, "program's own line\n");
    char *lost = malloc(32);
    memset(lost, 4, 32);
    lost = NULL;
    printf("stdout still here\n");
    return 0;
}
