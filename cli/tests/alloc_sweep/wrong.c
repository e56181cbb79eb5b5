/* Reduces microsoft/mimalloc test/test-wrong.c (reads one byte past and before a 3-byte
   block, a read of an uninitialised word, word reads past and before a one-word block,
   writes past it and before it, a double free, a read after free, a leaked block) to a
   program of our own. Each access is on a line of its own. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  int *kept = malloc(3 * sizeof(int)); /* leaked: definitely lost, 12 bytes */
  kept[0] = 1;

  char *c = malloc(3);
  c[0] = c[1] = c[2] = 7;
  char over = c[4];
  char under = c[-1];
  printf("bytes read\n");
  free(c);

  long *q = malloc(sizeof(long));
  long undefined = *q;
  printf("undefined read\n");
  long wover = q[1];
  long wunder = q[-1];
  printf("words read\n");
  *q = 42;
  q[1] = 43;
  q[2] = 44;
  q[-1] = 41;
  free(q);
  free(q);
  long after = *q;
  printf("done %d\n", (over | under | undefined | wover | wunder | after) != 12345);
  kept = 0;
  return 0;
}
