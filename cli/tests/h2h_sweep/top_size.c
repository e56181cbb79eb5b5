/* Reduces how2heap glibc_2.36/sysmalloc_int_free.c and house_of_tangerine.c (and the
   retired house_of_force.c): the 8 bytes just past a 0x28-byte block (natively the top
   chunk's size) overwritten, then a malloc larger than the forged top (natively glibc
   aborts: "malloc(): corrupted top size"), then the block freed. */
#include <stdio.h>
#include <stdlib.h>

int
main (void)
{
  char *p = malloc (0x28);
  *(long *) (p + 0x28) = -1;                          /* 8 bytes past the end */
  char *q = malloc (0x2000);
  free (q);
  free (p);
  puts ("done");
  return 0;
}
