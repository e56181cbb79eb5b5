/* Leaks 20 bytes, then execs the program named by argv[1] (a static one, in the test). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void leak_site(void) { char *p = malloc(20); p[0] = 1; }
int main(int argc, char **argv) {
    leak_site();
    if (argc < 2) return 2;
    execl(argv[1], argv[1], (char *)NULL);
    perror("execl");
    return 1;
}
