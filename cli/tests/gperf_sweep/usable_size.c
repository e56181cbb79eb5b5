/* Reduced from gperftools src/tests/debugallocation_test.cc (GetAllocatedSizeTest,
   CurrentlyAllocated, HugeAlloc, ReallocAfterMemalign): the whole usable size of small
   plain and aligned blocks written, huge requests refused, realloc of an aligned block
   keeping its contents (the grown block is not freed: a leak). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;
static size_t opaque (size_t n) { asm volatile ("" : "+r"(n)); return n; }

int main (void)
{
  int small_ok = 1;
  for (size_t i = 0; i < 10; i++)
    {
      void *p = malloc (i);
      size_t n = malloc_usable_size (p);
      if (n < i)
        small_ok = 0;
      memset (p, 0xff, n);
      free (p);
      p = memalign (16, i);
      n = malloc_usable_size (p);
      if (n < i)
        small_ok = 0;
      memset (p, 0xff, n);
      free (p);
    }
  void *a = malloc (1000);
  size_t n = malloc_usable_size (a);
  printf ("usable sizes %s, 1000 -> %s\n", small_ok ? "ok" : "SHORT",
          n >= 1000 && n <= 5000 ? "ok" : "odd");
  memset (a, 1, n);
  free (a);

  sink = malloc (opaque (SIZE_MAX));
  printf ("malloc (SIZE_MAX): %s\n", sink ? "a block" : "null");
  sink = malloc (opaque (SIZE_MAX - 1024));
  printf ("malloc (SIZE_MAX - 1024): %s\n", sink ? "a block" : "null");

  char stuff[50];
  memset (stuff, 0x11, sizeof stuff);
  char *p = memalign (16, sizeof stuff);
  memcpy (p, stuff, sizeof stuff);
  p = realloc (p, sizeof stuff + 10);
  printf ("realloc after memalign keeps contents: %s\n",
          memcmp (stuff, p, sizeof stuff) == 0 ? "yes" : "no");
  sink = p;
  sink = 0;
  return 0;
}
