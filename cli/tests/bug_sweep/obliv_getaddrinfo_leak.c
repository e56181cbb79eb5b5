/* https://github.com/samee/obliv-c/pull/11
 * getsockaddr(): returns early when the first result is not AF_INET without calling
 * freeaddrinfo(): the whole result list leaks. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int getsockaddr(const char *name, struct sockaddr *sa) {
    struct addrinfo hints, *list;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(name, "8080", &hints, &list) != 0)
        return -1;
    if (list->ai_family != AF_INET)
        return -1; /* the bug: list is not freed */
    memcpy(sa, list->ai_addr, list->ai_addrlen);
    freeaddrinfo(list);
    return 0;
}

int main(void) {
    struct sockaddr_storage sa;
    printf("%d\n", getsockaddr("::1", (struct sockaddr *)&sa));
    return 0;
}
