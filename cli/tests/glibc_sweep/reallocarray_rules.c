/* glibc malloc/tst-reallocarray.c, reduced: reallocarray detects the multiplication's
   overflow (NULL, ENOMEM), allocates, grows and shrinks as realloc does, and leaves the block
   untouched when the product overflows. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void overflow(void *ptr, size_t a, size_t b) {
  errno = 0;
  void *p = reallocarray(ptr, a, b);
  printf("reallocarray(%s, %#zx, %#zx): %s errno %s\n", ptr ? "p" : "NULL", a, b,
         p ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
}

int main(void) {
  const size_t max = ~(size_t)0;
  overflow(NULL, max, 2);
  overflow(NULL, 2, max);
  overflow(NULL, 65537, max / 65537 + 1);
  overflow(NULL, max / 65537 + 1, 65537);
  unsigned char *p = reallocarray(NULL, 10, 2);
  printf("usable >= 20: %d\n", malloc_usable_size(p) >= 20);
  memset(p, 0xAF, 20);
  p = reallocarray(p, 20, 2);
  int ok = malloc_usable_size(p) >= 40;
  for (int i = 0; i < 20; i++)
    ok &= p[i] == 0xAF;
  printf("grown: %d\n", ok);
  p = reallocarray(p, 5, 3);
  ok = malloc_usable_size(p) >= 15;
  for (int i = 0; i < 15; i++)
    ok &= p[i] == 0xAF;
  printf("shrunk: %d\n", ok);
  overflow(p, 2, max);
  ok = 1;
  for (int i = 0; i < 15; i++)
    ok &= p[i] == 0xAF;
  printf("intact: %d\n", ok);
  /* Zero elements: glibc frees the block and returns NULL, as realloc (p, 0) does. */
  void *z = reallocarray(p, 0, 8);
  printf("reallocarray(p, 0, 8): %s\n", z ? "block" : "NULL");
  free(z);
  z = reallocarray(NULL, 0, 8);
  printf("reallocarray(NULL, 0, 8): %s\n", z ? "block" : "NULL");
  free(z);
  return 0;
}
