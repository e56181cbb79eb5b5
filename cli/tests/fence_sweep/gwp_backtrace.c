/* After LLVM's compiler-rt/lib/gwp_asan/tests/backtrace.cpp and basic.cpp: a double free
   and a use after free, each reached through a chain of calls, so that the report's
   allocation, free and access (or second free) traces can be told apart; and
   alignment.cpp's question, whether every aligned request gets its alignment and all its
   bytes. Written for gpa's sweep, no upstream code. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__ ((noinline)) static char *make (size_t n) { return malloc (n); }
__attribute__ ((noinline)) static void drop (char *p) { free (p); }
__attribute__ ((noinline)) static void poke (char *p) { p[2] = 9; }

int main (int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp (what, "double"))
    {
      char *p = make (24);
      drop (p);
      drop (p);
    }
  else if (!strcmp (what, "use"))
    {
      char *p = make (24);
      drop (p);
      poke (p);
    }
  else
    {
      int bad = 0;
      for (size_t align = 1; align <= 4096; align *= 2)
        for (size_t size = 1; size <= 3 * align && size <= 5000; size += align / 2 + 1)
          {
            void *p = NULL;
            if (align >= sizeof (void *))
              bad += posix_memalign (&p, align, size) != 0;
            else
              p = aligned_alloc (align, size);
            bad += p == NULL || (uintptr_t) p % align != 0;
            if (p)
              memset (p, 1, size);
            free (p);
          }
      printf ("alignment: %d bad\n", bad);
    }
  puts ("done");
  return 0;
}
