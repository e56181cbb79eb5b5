/* Blocks freed more than once, for the exit's grouping of one site's findings: how many
   blocks a repeated mistake concerns (one block freed three times is one block: memcheck's
   "2 errors from 1 context" on "a block of size 4"). One case a run, named by the argument:
   thrice: one block, three frees (the loop's);
   two_blocks: two blocks of one site, each freed twice by the same lines;
   reused: a block freed twice, then (once it left the freed-block queue) a new block of the
     same site at its address, also freed twice; prints whether the address came back;
   delete_array: `new int[3]`, `delete[]` three times;
   realloc_zero: `malloc (4)`, `realloc (p, 0)` three times;
   mismatched: `new int`, `free` three times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *make (void) { return (char *) malloc (4); }

static void free_twice (char *p)
{
  for (int i = 0; i < 2; i++)
    free (p);
}

enum { TRIES = 100000 };

/* A block from `make`, at `want` if that is not null: the blocks at other addresses are
   kept in `held` (at most TRIES of them). Every block comes from one line. */
static char *next_block (char *want, char **held, int *n)
{
  for (;;)
    {
      char *p = make ();
      if (!want || p == want || *n == TRIES)
        return p;
      held[(*n)++] = p;
    }
}

/* Frees 32 MB of 4 KiB blocks: more than memcheck's freed-block queue (20 MB) and gpa's
   quarantine hold, so that a block freed before may be handed out again. */
static void flush (void)
{
  for (int i = 0; i < 8192; i++)
    free (malloc (4096));
}

int main (int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp (what, "thrice"))
    {
      char *p = make ();
      for (int i = 0; i < 3; i++)
        free (p);
    }
  else if (!strcmp (what, "two_blocks"))
    {
      for (int i = 0; i < 2; i++)
        free_twice (make ());
    }
  else if (!strcmp (what, "reused"))
    {
      static char *held[TRIES];
      int n = 0;
      char *first = NULL, *p = NULL;
      for (int round = 0; round < 2; round++)
        {
          p = next_block (first, held, &n);
          free_twice (p);
          if (round == 0)
            {
              first = p;
              flush ();
            }
        }
      for (int i = 0; i < n; i++)
        free (held[i]);
      puts (p == first ? "reused" : "not reused");
    }
  else if (!strcmp (what, "delete_array"))
    {
      int *a = new int[3];
      for (int i = 0; i < 3; i++)
        delete[] a;
    }
  else if (!strcmp (what, "realloc_zero"))
    {
      char *p = make ();
      for (int i = 0; i < 3; i++)
        if (realloc (p, 0))
          puts ("realloc returned a block");
    }
  else if (!strcmp (what, "mismatched"))
    {
      int *q = new int (1);
      for (int i = 0; i < 3; i++)
        free (q);
    }
  puts ("done");
  return 0;
}
