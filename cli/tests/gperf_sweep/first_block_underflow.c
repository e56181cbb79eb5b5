/* Beside gperftools' debugallocation_test.cc (StompBefore), our own: a byte written 16 bytes
   before the program's first block, where glibc keeps the unused prev_size word of the
   block's chunk header (natively harmless), then the block freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main (void)
{
  char *line = malloc (24);
  strcpy (line, "first block");
  line[-16] = 1;
  free (line);
  puts ("done");
  return 0;
}
