/* Reduces how2heap glibc_2.36/house_of_botcake.c: seven 0x100-byte blocks freed (the tcache
   bin full), then a and the block before it (natively merged into one free chunk), one
   malloc of 0x100, a freed again (double free, a malloc of its size between), and the
   0x210-byte malloc that natively overlaps it, written where a's link would be. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
main (void)
{
  intptr_t *x[7];
  for (int i = 0; i < 7; i++)
    x[i] = malloc (0x100);
  intptr_t *prev = malloc (0x100);
  intptr_t *a = malloc (0x100);
  void *barrier = malloc (0x10);
  for (int i = 0; i < 7; i++)
    free (x[i]);
  free (a);
  free (prev);
  void *taken = malloc (0x100);
  free (a);                                           /* double free */
  intptr_t *big = malloc (0x100 + 0x100 + 0x10);
  big[0x110 / sizeof (intptr_t)] = 0x1234;            /* natively a's link */
  puts ("done");
  free (barrier);
  return 0;
}
