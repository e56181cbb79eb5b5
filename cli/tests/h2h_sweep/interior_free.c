/* Beside how2heap glibc_2.36/house_of_mind_fastbin.c and fastbin_reverse_into_tcache.c
   (frees of chunks forged inside other blocks): a fake chunk header (size 0x20) written
   inside a 64-byte block, free of the pointer 16 bytes into it (natively it goes to the
   tcache and the next malloc (0x18) returns it), then the block itself freed. With the
   argument "realloc", realloc of the interior pointer instead (glibc aborts: "realloc():
   invalid pointer"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  long *p = malloc (64);
  memset (p, 0, 64);
  p[1] = 0x21;                                        /* fake size inside the block */
  if (argc > 1 && strcmp (argv[1], "realloc") == 0)
    {
      void *r = realloc (&p[2], 100);                 /* realloc of an interior pointer */
      printf ("%d\n", r == NULL);
    }
  else
    {
      free (&p[2]);                                   /* free of an interior pointer */
      void *q = malloc (0x18);
      if (q != &p[2])
        free (q);
    }
  free (p);
  puts ("done");
  return 0;
}
