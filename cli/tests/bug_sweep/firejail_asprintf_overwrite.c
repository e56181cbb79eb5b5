/* https://github.com/netblue30/firejail/pull/7098
 * syscall_in_list(): asprintf(&ptr->xxx, ...) overwrites a pointer that already held an
 * asprintf() result: the older string is definitely lost. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

struct syscall_check_list {
    char *slist;
};

int main(void) {
    struct syscall_check_list ptr = {NULL};
    const char *calls[] = {"mount", "umount2", "ptrace"};
    for (int i = 0; i < 3; i++) {
        char *prev = ptr.slist;
        if (prev)
            asprintf(&ptr.slist, "%s,%s", prev, calls[i]); /* the bug: prev not freed */
        else
            asprintf(&ptr.slist, "%s", calls[i]);
    }
    printf("%s\n", ptr.slist);
    free(ptr.slist);
    return 0;
}
