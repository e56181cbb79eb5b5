/* Beside gwp_recoverable.c's frees of an interior pointer (our own): free and realloc of
   pointers inside a freed block and inside and just past a live one, in one thread. Written
   for gpa's sweep. */
#include <stdio.h>
#include <stdlib.h>

int main (void)
{
  char *live = malloc (64);
  char *gone = malloc (48);
  free (gone);
  free (gone + 16);
  free (live + 64);
  char *moved = realloc (gone + 8, 100);
  char *grown = realloc (live + 4, 10);
  printf ("%s %s\n", moved ? "moved" : "NULL", grown ? "grown" : "NULL");
  free (live);
  return 0;
}
