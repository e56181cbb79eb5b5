/* After Dr. Memory's tests/syscalls_unix.c (DynamoRIO/drmemory): system calls given heap
 * memory that is not the program's any more: open of a freed string, write of 3 bytes past
 * a block, read into a freed block; a wild address given to open. Written for gpa; no
 * upstream code. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char *name = malloc(16);
    strcpy(name, "/dev/null");
    free(name);
    int fd = open(name, O_WRONLY); /* line 16: reads a freed block */
    printf("open of freed: %s\n", fd >= 0 ? "opened" : strerror(errno));
    char *text = malloc(5);
    memcpy(text, "asdf\n", 5);
    int pipes[2];
    pipe(pipes);
    ssize_t n = write(pipes[1], text, 8); /* line 22: 3 bytes past a 5-byte block */
    printf("write past: %zd\n", n);
    char *buf = malloc(32);
    free(buf);
    n = read(pipes[0], buf, 8); /* line 26: into a freed block */
    printf("read into freed: %zd\n", n);
    free(text);
    close(fd);
    fd = open((const char *)0x0000812300001234, O_RDONLY); /* line 30: wild address */
    printf("wild open: %s\n", fd >= 0 ? "opened" : strerror(errno));
    printf("done\n");
    return 0;
}
