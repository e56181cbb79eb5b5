/* free(p) twice, then a pointer into the middle of a block, then a stack address: glibc
 * aborts at the first; gpa's fast mode rejects each with a message and goes on. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    char *p = malloc(32);
    free(p);
    free(p);
    char *q = malloc(64);
    free(q + 8);
    int local;
    free(&local);
    free(q);
    char *r = malloc(32);
    char *s = malloc(32);
    printf("distinct %d\n", r != s);
    free(r);
    free(s);
    puts("survived");
    return 0;
}
