/* https://github.com/troglobit/redir/pull/47
 * copyloop(): malloc(bufsize), then buf[bytes] = 0 after a read() that filled the buffer:
 * a one-byte write just past the block. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void copyloop(int fd, size_t bufsize) {
    char *buf = malloc(bufsize);
    ssize_t bytes = read(fd, buf, bufsize);
    if (bytes >= 0)
        buf[bytes] = 0; /* the bug: bytes == bufsize */
    printf("read %zd\n", bytes);
    free(buf);
}

int main(void) {
    int fd = open("/dev/zero", O_RDONLY);
    copyloop(fd, 64);
    close(fd);
    return 0;
}
