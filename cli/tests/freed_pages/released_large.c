/* Beside how2heap glibc_2.36/fastbin_dup.c with large blocks (mmapped chunks in glibc): a
   block of 200,000 bytes freed, then 4,200 blocks of 140,000 bytes freed (more than a
   checker keeps reserved after their free), then the first used again, one way per
   argument: "free", "realloc", "interior" (free of the block + 8), "read" (its byte 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT 4200
#define SIZE 140000

int
main (int argc, char **argv)
{
  const char *how = argc > 1 ? argv[1] : "free";
  char *a = malloc (200000);
  memset (a, 1, 200000);
  free (a);
  for (int i = 0; i < COUNT; i++)
    {
      char *other = malloc (SIZE);
      other[0] = 1;
      free (other);
    }
  if (strcmp (how, "free") == 0)
    free (a);                                         /* double free */
  else if (strcmp (how, "realloc") == 0)
    a = realloc (a, 64);                              /* realloc of a freed block */
  else if (strcmp (how, "interior") == 0)
    free (a + 8);                                     /* interior free */
  else if (strcmp (how, "read") == 0)
    printf ("%d\n", ((volatile char *) a)[5] == 7);   /* read after free */
  puts ("done");
  return 0;
}
