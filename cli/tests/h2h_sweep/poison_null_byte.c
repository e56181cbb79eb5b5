/* Reduces how2heap glibc_2.36/poison_null_byte.c: one NUL byte written just past a block
   whose size is a multiple of 16 (natively, the low byte of the next chunk's size field): a
   0x100-byte block then freed, a 0x4f0-byte block never freed (still reachable at exit), and
   beside them a 0x28-byte block (not a multiple of 16), then freed. The small blocks after
   each (natively, the chunks whose size was cleared) stay allocated. */
#include <stdio.h>
#include <stdlib.h>

char *kept;
void *barrier[3];

int
main (void)
{
  char *freed = malloc (0x100);
  barrier[0] = malloc (0x10);
  kept = malloc (0x4f0);
  barrier[1] = malloc (0x10);
  char *odd = malloc (0x28);
  barrier[2] = malloc (0x10);
  freed[0x100] = 0;                                   /* one byte past the end */
  kept[0x4f0] = 0;                                    /* same, never freed */
  odd[0x28] = 0;                                      /* same, size not a multiple of 16 */
  free (freed);
  free (odd);
  puts ("done");
  return 0;
}
