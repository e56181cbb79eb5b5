/* Beside how2heap glibc_2.36/fastbin_dup.c and house_of_botcake.c: a block freed twice with
   9 frees of its size between (more than the 7 a tcache bin holds: glibc 2.36 still finds
   it in its tcache and aborts), or, with the argument "far", with 2,400 frees of 128 bytes
   (300 KiB, more than a checker's quarantine of recently freed blocks) between. Nothing is
   allocated between the two frees, so the block is still free at the second one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  int far = argc > 1 && strcmp (argv[1], "far") == 0;
  int count = far ? 2400 : 9;
  size_t size = far ? 128 : 32;
  char *a = malloc (size);
  char **others = malloc (count * sizeof *others);
  for (int i = 0; i < count; i++)
    others[i] = malloc (size);
  free (a);
  for (int i = 0; i < count; i++)
    free (others[i]);
  free (a);                                           /* double free */
  free (others);
  puts ("done");
  return 0;
}
