/* After DUMA's examples/example1.cpp (a loop writing one int past a 10-int malloc block,
   never freed) and example2.cpp (the block leaked), DUMA_PROTECT_BELOW (one int written
   before the block), DUMA_SLACKFILL (a write into the bytes between a 13-byte block's end
   and its alignment) and DUMA_PROTECT_FREE (a write to a block freed long before, 4 MiB of
   other blocks allocated and freed since). Written for gpa's sweep, no upstream code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main (int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp (what, "example1"))
    {
      int *pi = malloc (10 * sizeof (int));
      for (int i = 0; i < 11; ++i)
        pi[i] = i;
    }
  else if (!strcmp (what, "below"))
    {
      int *pi = malloc (10 * sizeof (int));
      pi[-1] = 7;
      free (pi);
    }
  else if (!strcmp (what, "slack"))
    {
      char *p = malloc (13);
      p[14] = 1;
      free (p);
    }
  else if (!strcmp (what, "long_after"))
    {
      char *old = malloc (100);
      free (old);
      for (int i = 0; i < 1024; i++)
        free (malloc (4096));
      old[10] = 5;
    }
  puts ("done");
  return 0;
}
