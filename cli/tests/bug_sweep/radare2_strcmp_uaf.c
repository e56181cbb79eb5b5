/* https://github.com/radareorg/radare2/issues/2732
 * rcc_next(): strcmp() on a 4-byte variable name that r_egg_mkvar() had freed (Invalid read
 * of size 1 in strcmp, 0 bytes inside a block of size 4 free'd). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *r_egg_mkvar(char *name) {
    char *ret = strdup("ret");
    free(name);
    return ret;
}

int main(void) {
    char *callname = strdup("foo");
    char *var = r_egg_mkvar(callname);
    int same = strcmp(callname, "foo"); /* the bug */
    printf("%d\n", same == 0);
    free(var);
    return 0;
}
