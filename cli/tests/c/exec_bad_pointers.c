/* execve with a null path and argument and environment arrays holding a wild pointer, as
 * Valgrind's execve1.c does: the kernel refuses it (EFAULT) and the program goes on. gpa's
 * execve read the environment's strings to put its settings back and faulted on the wild
 * pointer: the program died of SIGSEGV under gpa run (exit 139).
 *
 * Valgrind 3.19 (valgrind --leak-check=full --trace-children=yes): the program goes on and
 * exits 0, with 3 errors gpa does not claim to check ("Syscall param execve(filename) points
 * to unaddressable byte(s)", and the same for argv[0] and envp[i]), no leak. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char *wild[2] = {(char *)1, NULL};
    char *path = NULL;
    int result = execve(path, wild, wild);
    printf("done %d %d\n", result, errno == EFAULT);
    return 0;
}
