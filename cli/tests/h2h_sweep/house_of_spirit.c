/* Reduces how2heap glibc_2.36/house_of_spirit.c and tcache_house_of_spirit.c: free of a
   fake chunk with a plausible header (size 0x40 in the word before it, the next chunk's size
   after it) on the stack, then (tcache_house_of_spirit) one in a global array, and one 32 KiB
   into a 64 KiB global array (anonymous pages past the data segment's file), its next
   chunk's size with the PREV_INUSE bit set; the malloc of 0x30 bytes that follows each
   (natively, the fake chunk) is freed. */
#include <stdio.h>
#include <stdlib.h>

long global_chunk[10] __attribute__ ((aligned (16)));
long big_global[8192] __attribute__ ((aligned (4096)));

int
main (void)
{
  void *first = malloc (1);
  long stack_chunk[10] __attribute__ ((aligned (16)));
  stack_chunk[1] = 0x40;
  stack_chunk[9] = 0x1234;
  free (&stack_chunk[2]);                             /* fake chunk on the stack */
  void *p = malloc (0x30);
  global_chunk[1] = 0x40;
  global_chunk[9] = 0x1234;
  free (&global_chunk[2]);                            /* fake chunk in a global */
  void *q = malloc (0x30);
  long *fake = &big_global[4096];
  fake[1] = 0x40;
  fake[9] = 0x41;
  free (&fake[2]);                                    /* fake chunk in anonymous .bss */
  void *r = malloc (0x30);
  free (first);
  if (p != (void *) &stack_chunk[2])
    free (p);
  if (q != (void *) &global_chunk[2])
    free (q);
  if (r != (void *) &fake[2])
    free (r);
  puts ("done");
  return 0;
}
