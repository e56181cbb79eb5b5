/* After Electric Fence's and DUMA's tstheap.c: a pool of 1024 pointers; each step picks a
   slot and a size up to 30000 bytes at random (drand48, seeded), frees the slot's block,
   reallocates it (DUMA's variant) or allocates one, in any order. The blocks left in the
   pool at exit are still reachable. Written for gpa's sweep, no upstream code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
#define LARGEST 30000

static struct { char *at; size_t size; } pool[SLOTS];

int main (int argc, char **argv)
{
  int steps = argc > 1 ? atoi (argv[1]) : 20000;
  long bad = 0;
  srand48 (7);
  for (int i = 0; i < steps; i++)
    {
      int slot = (int) (drand48 () * SLOTS);
      size_t size = (size_t) (drand48 () * (LARGEST + 1));
      double choice = drand48 ();
      if (pool[slot].at && choice < 0.3 && size > 0)
        {
          char *moved = realloc (pool[slot].at, size);
          size_t kept = size < pool[slot].size ? size : pool[slot].size;
          for (size_t j = 0; j < kept; j += 97)
            bad += moved[j] != (char) (slot + j);
          for (size_t j = 0; j < size; j += 97)
            moved[j] = (char) (slot + j);
          pool[slot].at = moved;
          pool[slot].size = size;
        }
      else if (pool[slot].at)
        {
          free (pool[slot].at);
          pool[slot].at = NULL;
        }
      else if (size > 0)
        {
          pool[slot].at = malloc (size);
          pool[slot].size = size;
          for (size_t j = 0; j < size; j += 97)
            pool[slot].at[j] = (char) (slot + j);
        }
    }
  int live = 0;
  for (int i = 0; i < SLOTS; i++)
    live += pool[i].at != NULL;
  printf ("%d steps, %d blocks live, %ld bad bytes\n", steps, live, bad);
  return 0;
}
