/* Beside how2heap glibc_2.36/fastbin_dup.c and tcache_dup_many.c "far": a block of 128 bytes
   freed, then 4,000 more of its size freed (more than a checker's quarantine of recently freed
   blocks, so the block's page may empty and go back), then the block used again, one way per
   argument: "free" (a double free), "realloc", "interior" (free of the block + 8), "read"
   (its byte 5), "write" (its byte 5). Nothing is allocated between, so the block is still
   free when it is used. "leak": instead, 4,000 blocks of its size allocated again and one
   of them leaked (the freed blocks remembered at the same addresses are no pointers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT 4000
#define SIZE 128

int
main (int argc, char **argv)
{
  const char *how = argc > 1 ? argv[1] : "free";
  char *a = malloc (SIZE);
  char **others = malloc (COUNT * sizeof *others);
  for (int i = 0; i < COUNT; i++)
    others[i] = malloc (SIZE);
  memset (a, 1, SIZE);
  free (a);
  for (int i = 0; i < COUNT; i++)
    free (others[i]);
  if (strcmp (how, "free") == 0)
    free (a);                                         /* double free */
  else if (strcmp (how, "realloc") == 0)
    a = realloc (a, 64);                              /* realloc of a freed block */
  else if (strcmp (how, "interior") == 0)
    free (a + 8);                                     /* interior free */
  else if (strcmp (how, "read") == 0)
    printf ("%d\n", ((volatile char *) a)[5] == 7);   /* read after free */
  else if (strcmp (how, "write") == 0)
    ((volatile char *) a)[5] = 7;                     /* write after free */
  else if (strcmp (how, "leak") == 0)
    {
      for (int i = 0; i < COUNT; i++)
        others[i] = malloc (SIZE);
      others[COUNT / 2] = 0;                          /* leaked */
      for (int i = 0; i < COUNT; i++)
        free (others[i]);
    }
  free (others);
  puts ("done");
  return 0;
}
