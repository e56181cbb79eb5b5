/* Reduces how2heap glibc_2.36/tcache_poisoning.c (and fastbin_reverse_into_tcache.c's write
   into a freed chunk's link) to other targets: the first word of a freed 128-byte block
   overwritten with a raw pointer (not mangled as glibc's safe-linking would), by argument
   "stack" (a local array), "wild" (an address nothing maps), "class" (a live 40-byte block),
   "self" (the freed block itself: a loop) or "thread" (the block freed by another thread,
   then written by this one); then 600 blocks of its size, each written whole, and the count
   of pairs of them that share memory and of blocks at the target. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE 128
#define MANY 600

static void *
free_it (void *block)
{
  free (block);
  return NULL;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "stack";
  size_t stack_var[4] __attribute__ ((aligned (16)));
  char *other = malloc (40);
  intptr_t *a = malloc (SIZE);
  intptr_t *b = malloc (SIZE);
  intptr_t target = (intptr_t) &stack_var[2];
  if (strcmp (mode, "wild") == 0)
    target = (intptr_t) 0x4141414141414140;
  else if (strcmp (mode, "class") == 0)
    target = (intptr_t) other;
  else if (strcmp (mode, "self") == 0)
    target = (intptr_t) b;
  free (a);
  if (strcmp (mode, "thread") == 0)
    {
      pthread_t thread;
      pthread_create (&thread, NULL, free_it, b);
      pthread_join (thread, NULL);
    }
  else
    free (b);
  b[0] = target; /* write after free */
  static char *blocks[MANY];
  for (int i = 0; i < MANY; i++)
    {
      blocks[i] = malloc (SIZE);
      memset (blocks[i], (i + 1) & 0xff, SIZE);
    }
  int shared = 0, at_target = 0;
  for (int i = 0; i < MANY; i++)
    {
      at_target += (intptr_t) blocks[i] == target && strcmp (mode, "self") != 0;
      for (int j = i + 1; j < MANY; j++)
        shared += blocks[i] < blocks[j] + SIZE && blocks[j] < blocks[i] + SIZE;
    }
  printf ("%s: %d shared, %d at the target\n", mode, shared, at_target);
  for (int i = 0; i < MANY; i++)
    free (blocks[i]);
  free (other);
  return 0;
}
