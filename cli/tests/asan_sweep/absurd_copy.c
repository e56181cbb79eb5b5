/* memcpy between two 3000-byte blocks with a size of (size_t)-1 (compiler-rt's
   memset_test.cpp -DTEST_MEMCPY_SIZE_OVERFLOW, reduced). glibc 2.36's memcpy computes its
   end pointers with wrap-around: it stores a few vectors before `p` and returns; Valgrind's
   own memcpy runs off both blocks and dies on a fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t huge = (size_t)-1;

int main(void) {
    char *p = malloc(3000);
    char *q = malloc(3000);
    memset(q, 1, 3000);
    printf("copying\n");
    fflush(stdout);
    memcpy(p, q, huge); /* @copy */
    puts("returned");
    return 0;
}
