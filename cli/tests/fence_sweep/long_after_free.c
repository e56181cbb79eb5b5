/* Beside DUMA's DUMA_PROTECT_FREE case (duma_examples.c long_after; our own): blocks of 24,
   200 and 3000 bytes freed, then 2 MiB of blocks of other sizes allocated and freed (past
   check mode's quarantine), then each freed block written once. Written for gpa's sweep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main (void)
{
  char *small = malloc (24);
  char *middle = malloc (200);
  char *large = malloc (3000);
  free (small);
  free (middle);
  free (large);
  for (int i = 0; i < 512; i++)
    free (malloc (4000 + i % 7));
  small[0] = 1;
  middle[199] = 2;
  memset (large + 1500, 3, 4);
  puts ("done");
  return 0;
}
