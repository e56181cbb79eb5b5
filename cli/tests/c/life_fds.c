/* Prints how many descriptors it has at 512 or above (where gpa keeps the report directory
 * open in a process that entered another mount namespace: cli/tests/lifecycle.rs builds this
 * with gcc -static, a program that cannot load the library and must get none of gpa's).
 * Allocates nothing; exits 0. */
#include <fcntl.h>
#include <stdio.h>
int main(void) {
    int count = 0;
    for (int fd = 512; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0) count++;
    printf("descriptors from 512: %d\n", count);
    return 0;
}
