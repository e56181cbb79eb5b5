/* The child the life-cycle programs start: 40 bytes definitely lost and 16 still reachable
 * (a global holds them), then prints its argument and exits with status 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *kept;
int main(int argc, char **argv) {
    char *lost = malloc(40);
    memset(lost, 1, 40);
    lost = NULL;
    kept = malloc(16);
    printf("child %s\n", argc > 1 ? argv[1] : "-");
    return 3;
}
