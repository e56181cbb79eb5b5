/* After dmalloc's dmalloc_t.c (check_special): fence-post writes just above and just below
   a block, a write to freed memory, frees of a stack pointer, a global and an interior
   pointer, a double free, a realloc of a freed block, a write to a malloc (0) block,
   calloc's zero fill, and leaks reported with their line. Written for gpa's sweep, no
   upstream code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char global[16];

static char *keep (size_t n) { return malloc (n); }

int main (void)
{
  char local[16];
  char *above = malloc (20);
  above[20] = 'x';
  free (above);
  char *below = malloc (20);
  below[-1] = 'x';
  free (below);
  char *freed = malloc (24);
  free (freed);
  freed[3] = 'x';
  free (local);
  free (global);
  char *inner = malloc (32);
  free (inner + 4);
  free (inner);
  free (inner);
  char *again = realloc (inner, 64);
  printf ("realloc of freed: %s\n", again ? "a block" : "NULL");
  char *empty = malloc (0);
  empty[0] = 'x';
  free (empty);
  size_t zeros = 0;
  unsigned char *cleared = calloc (100, 3);
  for (int i = 0; i < 300; i++)
    zeros += cleared[i] == 0;
  free (cleared);
  printf ("calloc: %zu zero bytes of 300\n", zeros);
  keep (33);
  keep (44);
  return 0;
}
