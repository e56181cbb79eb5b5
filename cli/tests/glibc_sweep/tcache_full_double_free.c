/* glibc malloc/tst-tcfree2.c: ten blocks of 20 bytes freed, then the first one again (at
   the end of a full tcache list; glibc aborts). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char *volatile ptrs[10];
  for (int i = 0; i < 10; i++)
    ptrs[i] = malloc(20);
  for (int i = 0; i < 10; i++)
    free(ptrs[i]);
  free(ptrs[0]);
  printf("double free not detected\n");
  return 0;
}
