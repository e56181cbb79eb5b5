/* glibc malloc/tst-tcfree3.c: the freed block's first 32 bytes (glibc's tcache key in them)
   copied into two live blocks, which are then freed: no false double free (BZ #23907). The
   copy reads a freed block: Valgrind reports it twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  int **volatile a = malloc(32);
  int **volatile b = malloc(32);
  int **volatile c = malloc(127 * 1024);
  memset(c, 0xff, 127 * 1024);
  free(a);
  memcpy(b, a, 32);
  memcpy(c, a, 32);
  free(b);
  free(c);
  printf("freed\n");
  return 0;
}
