/* Beside how2heap glibc_2.36/mmap_overlapping_chunks.c (whose forged chunks are mmap'ed
   ones): free of a fake mmap'ed chunk, a header with the IS_MMAPPED bit and a page's size
   16 bytes into a page the program mapped itself (natively glibc munmaps that page), then
   a malloc of a mmap'ed size, written and freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int
main (void)
{
  long *page = mmap (NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED)
    return 2;
  page[0] = 0;                                        /* prev_size */
  page[1] = 4096 | 2;                                 /* size, IS_MMAPPED */
  free (&page[2]);                                    /* fake mmap'ed chunk */
  char *big = malloc (0x100000);
  memset (big, 1, 0x100000);
  free (big);
  puts ("done");
  return 0;
}
