/* After GWP-ASan's realloc handling (compiler-rt/lib/gwp_asan/guarded_pool_allocator.cpp,
   exercised by its tests' harness) and DUMA's tstheap.c: a realloc that moves a block; the
   old pointer is then read, and the new block written one past its new size; a realloc that
   shrinks a block, then a write one past its new end. Written for gpa's sweep, no upstream
   code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile char sink;

int main (void)
{
  char *small = malloc (16);
  memset (small, 'a', 16);
  char *grown = realloc (small, 5000);
  sink = small[3];
  grown[5000] = 1;
  char *shrunk = realloc (grown, 10);
  shrunk[10] = 2;
  printf ("kept %c\n", shrunk[9]);
  free (shrunk);
  return 0;
}
