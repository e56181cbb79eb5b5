/* Reduces how2heap glibc_2.36/overlapping_chunks.c: the 8 bytes before a 0x4f8-byte block
   (glibc's size field of its chunk) overwritten with a larger size, the block freed, and a
   malloc of the forged size (natively overlapping the next block) filled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long *keep[3];                                        /* still reachable at exit */

int
main (void)
{
  long *p1 = malloc (0x80 - 8);
  long *p2 = malloc (0x500 - 8);
  long *p3 = malloc (0x80 - 8);
  memset (p2, '2', 0x500 - 8);
  *(p2 - 1) = 0x581;                                  /* write 8 bytes before p2 */
  free (p2);
  long *p4 = malloc (0x580 - 8);
  memset (p4, '4', 0x580 - 8);
  keep[0] = p1;
  keep[1] = p3;
  keep[2] = p4;
  puts ("done");
  return 0;
}
