/* Reduces how2heap glibc_2.36/tcache_poisoning.c (and fastbin_dup_into_stack.c's forged
   link): the first word of a freed 128-byte block overwritten with a safe-linking-mangled
   stack address, then the mallocs of its size that follow. With the argument "reuse", 3,000
   more blocks of its size are freed and allocated again (384 KiB, past a checker's
   quarantine), each checked to be writable and apart from the others. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANY 3000

int
main (int argc, char **argv)
{
  size_t stack_var[4] __attribute__ ((aligned (16)));
  intptr_t *a = malloc (128);
  intptr_t *b = malloc (128);
  free (a);
  free (b);
  b[0] = (intptr_t) ((long) &stack_var[2] ^ ((long) b >> 12)); /* write after free */
  intptr_t *c = malloc (128);
  intptr_t *d = malloc (128);
  int on_stack = (void *) c == &stack_var[2] || (void *) d == &stack_var[2];
  if (argc > 1 && strcmp (argv[1], "reuse") == 0)
    {
      static char *many[MANY];
      for (int i = 0; i < MANY; i++)
        many[i] = malloc (128);
      for (int i = 0; i < MANY; i++)
        free (many[i]);
      for (int i = 0; i < MANY; i++)
        {
          many[i] = malloc (128);
          memset (many[i], i & 0xff, 128);
        }
      int bad = 0;
      for (int i = 0; i < MANY; i++)
        for (int j = 0; j < 128; j++)
          bad += many[i][j] != (char) (i & 0xff);
      printf ("reused: %d bad\n", bad);
      for (int i = 0; i < MANY; i++)
        free (many[i]);
    }
  if (!on_stack)
    {
      free (c);
      free (d);
    }
  puts ("done");
  return 0;
}
