/* Reduced from gperftools src/tests/memalign_unittest.cc: memalign, posix_memalign and
   valloc over a grid of alignments and sizes (each block filled and checked), the large
   alignments' corner cases, posix_memalign's EINVAL and ENOMEM answers; pvalloc with the
   argument "pvalloc" (Valgrind stops the program at pvalloc). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int next_size (int size)
{
  if (size < 40)
    return size + 1;
  if (size >= 70000)
    return -1;
  int power = 1;
  while (power < size)
    power <<= 1;
  if (size < power - 1)
    return power - 1;
  return size == power - 1 ? power : power + 1;
}

static int fill_and_check (void *p, int n, char seed)
{
  unsigned char *b = p;
  for (int i = 0; i < n; i++)
    b[i] = (unsigned char) (seed + i);
  for (int i = 0; i < n; i++)
    if (b[i] != (unsigned char) (seed + i))
      return 0;
  return 1;
}

int main (int argc, char **argv)
{
  int bad = 0;
  long page = sysconf (_SC_PAGESIZE);
  if (argc > 1 && strcmp (argv[1], "pvalloc") == 0)
    {
      for (int s = 0; s != -1; s = next_size (s))
        {
          void *p = pvalloc (s);
          size_t whole = (s + page - 1) / page * page;
          bad += (uintptr_t) p % page != 0 || !fill_and_check (p, whole, 'x');
          free (p);
        }
      printf ("pvalloc: %d bad\n", bad);
      return 0;
    }
  for (size_t a = 1; a < 65536; a *= 2)
    for (int s = 0; s != -1; s = next_size (s))
      {
        void *p = memalign (a, s);
        bad += (uintptr_t) p % a != 0 || !fill_and_check (p, s, 'x');
        free (p);
        if (a >= sizeof (void *))
          {
            if (posix_memalign (&p, a, s) != 0)
              bad++;
            bad += (uintptr_t) p % a != 0 || !fill_and_check (p, s, 'y');
            free (p);
          }
      }
  printf ("memalign grid: %d bad\n", bad);

  void *p1 = memalign (1 << 20, 1 << 19);
  void *p2 = memalign (1 << 19, 1 << 19);
  void *p3 = memalign (1 << 21, 1 << 19);
  printf ("large alignments: %s\n",
          (uintptr_t) p1 % (1 << 20) == 0 && (uintptr_t) p2 % (1 << 19) == 0
          && (uintptr_t) p3 % (1 << 21) == 0 && fill_and_check (p1, 1 << 19, 'a')
          && fill_and_check (p2, 1 << 19, 'b') && fill_and_check (p3, 1 << 19, 'c')
          ? "ok" : "BAD");
  free (p1);
  free (p2);
  free (p3);

  void *p;
  printf ("posix_memalign EINVAL: %d %d %d %d\n", posix_memalign (&p, 0, 1) == EINVAL,
          posix_memalign (&p, sizeof (void *) / 2, 1) == EINVAL,
          posix_memalign (&p, sizeof (void *) + 1, 1) == EINVAL,
          posix_memalign (&p, 4097, 1) == EINVAL);
  void *held = malloc (4 << 20);
  int enomem = 0;
  for (size_t i = 1; i < 10; i++)
    enomem += posix_memalign (&p, 1024, (size_t) 0 - i) == ENOMEM;
  printf ("posix_memalign ENOMEM: %d of 9\n", enomem);
  free (held);

  bad = 0;
  for (int s = 0; s != -1; s = next_size (s))
    {
      void *v = valloc (s);
      bad += (uintptr_t) v % page != 0 || !fill_and_check (v, s, 'v');
      free (v);
    }
  printf ("valloc: %d bad\n", bad);
  return 0;
}
