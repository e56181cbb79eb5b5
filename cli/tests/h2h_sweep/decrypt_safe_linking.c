/* Reduces how2heap glibc_2.36/decrypt_safe_linking.c (and the leaks of a freed chunk's
   links in house_of_lore.c, large_bin_attack.c, unsorted_bin_attack): two 0x20-byte blocks
   freed, then the first word of the second read (natively its mangled tcache link), and a
   word 8 bytes into a freed 0x420-byte block (natively its bk link). */
#include <stdio.h>
#include <stdlib.h>

int
main (void)
{
  long *a = malloc (0x20);
  long *b = malloc (0x20);
  long *large = malloc (0x420);
  void *barrier = malloc (0x10);
  free (a);
  free (b);
  free (large);
  volatile long link = b[0];                          /* read after free */
  volatile long bk = large[1];                        /* read after free */
  (void) link;
  (void) bk;
  free (barrier);
  puts ("done");
  return 0;
}
