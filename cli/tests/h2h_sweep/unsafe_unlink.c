/* Reduces how2heap glibc_2.36/unsafe_unlink.c and house_of_einherjar.c: the header of the
   block after a 0x420-byte one rewritten (natively its chunk's prev_size, 16 bytes before
   it, and the PREV_INUSE bit of its size, 8 bytes before: read, then written), then that
   block freed (natively, the backward merge into the fake chunk). The fake chunk's links
   inside the first block are legal writes, left out. With the argument "keep", the second
   block is not freed (still reachable at exit). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t *chunk0, *chunk1;

int
main (int argc, char **argv)
{
  chunk0 = malloc (0x420);
  chunk1 = malloc (0x420);
  uint64_t *hdr = chunk1 - 2;
  hdr[0] = 0x420;                                     /* 16 bytes before chunk1 */
  hdr[1] &= ~(uint64_t) 1;                            /* 8 bytes before: read, write */
  if (argc == 1)
    free (chunk1);
  puts ("done");
  return 0;
}
