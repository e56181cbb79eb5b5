/* glibc malloc/tst-malloc-usable.c, reduced: malloc_usable_size (NULL) is 0, and a block's
   usable size is at least what was asked and may all be written. Prints whether the usable
   size equals the size asked (Valgrind: always) or is above it (glibc: 7 -> 24). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  printf("malloc_usable_size(NULL): %zu\n", malloc_usable_size(NULL));
  size_t sizes[] = {0, 1, 7, 24, 100, 4095, 200000};
  int below = 0;
  for (int i = 0; i < 7; i++) {
    char *p = malloc(sizes[i]);
    size_t u = malloc_usable_size(p);
    below += u < sizes[i];
    memset(p, 0, u);
    free(p);
  }
  printf("usable below the size asked: %d\n", below);
  return 0;
}
