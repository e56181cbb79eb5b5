/* Reduced from gperftools src/tests/realloc_unittest.cc: realloc between every pair of a
   grid of sizes (contents kept up to the smaller size, the whole new size written), then
   4096 blocks of 8 KiB grown to 9000 bytes (the deep word kept). */
#include <stdio.h>
#include <stdlib.h>

static int next_size (int size)
{
  if (size < 24)
    return size + 1;
  if (size >= 20000)
    return -1;
  int power = 1;
  while (power < size)
    power <<= 1;
  if (size < power - 1)
    return power - 1;
  return size == power - 1 ? power : power + 1;
}

static void fill (unsigned char *b, int n)
{
  for (int i = 0; i < n; i++)
    b[i] = i & 0xff;
}

static int valid (const unsigned char *b, int n)
{
  for (int i = 0; i < n; i++)
    if (b[i] != (i & 0xff))
      return 0;
  return 1;
}

int main (void)
{
  int bad = 0, pairs = 0;
  for (int from = 0; from >= 0; from = next_size (from))
    for (int to = 0; to >= 0; to = next_size (to))
      {
        unsigned char *src = malloc (from);
        fill (src, from);
        unsigned char *dst = realloc (src, to);
        if (to > 0 && dst == NULL)
          bad++;
        else if (dst != NULL)
          {
            bad += !valid (dst, from < to ? from : to);
            fill (dst, to);
            bad += !valid (dst, to);
            free (dst);
          }
        pairs++;
      }
  printf ("realloc grid: %d pairs, %d bad\n", pairs, bad);

  enum { N = 4096 };
  int **p = malloc (sizeof *p * N);
  long sum = 0;
  for (int i = 0; i < N; i++)
    {
      p[i] = malloc (8192);
      p[i][1000] = i;
    }
  for (int i = 0; i < N; i++)
    p[i] = realloc (p[i], 9000);
  for (int i = 0; i < N; i++)
    {
      sum += p[i][1000];
      free (p[i]);
    }
  free (p);
  printf ("sum %s\n", sum == (long) N / 2 * (N - 1) ? "ok" : "BAD");
  return 0;
}
