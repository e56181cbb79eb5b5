/* Built with gcc -static: leaks 40 bytes, prints a line, exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char *lost = malloc(40);
    memset(lost, 5, 40);
    lost = NULL;
    printf("static ok\n");
    return 0;
}
