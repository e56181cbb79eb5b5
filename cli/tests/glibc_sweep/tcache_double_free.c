/* glibc malloc/tst-tcfree1.c: a block of 32 bytes freed twice in a row (glibc: "free():
   double free detected in tcache 2", abort). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char *volatile x = malloc(32);
  free(x);
  free(x);
  printf("double free not detected\n");
  return 0;
}
