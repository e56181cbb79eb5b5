/* Structures the kernel reads, handed to writev and sendmsg at unmapped addresses past the
 * first page (not heap, not stack). The kernel answers EFAULT (sendmsg on a non-socket,
 * ENOTSOCK first). Valgrind 3.19: "Syscall param writev(vector) points to unaddressable
 * byte(s)" (twice) and "Syscall param sendmsg(msg) points to unaddressable byte(s)", each
 * "Address ... is not stack'd, malloc'd or (recently) free'd": memory gpa does not check. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

int main(void) {
    errno = 0;
    ssize_t r = writev(1, (struct iovec *)0x10000000, 1);
    printf("writev: %zd errno %d\n", r, errno);
    errno = 0;
    r = writev(1, (struct iovec *)0x7fff00000000, 2);
    printf("writev: %zd errno %d\n", r, errno);
    errno = 0;
    r = sendmsg(1, (struct msghdr *)0x20000000, 0);
    printf("sendmsg: %zd errno %d\n", r, errno);
    return 0;
}
