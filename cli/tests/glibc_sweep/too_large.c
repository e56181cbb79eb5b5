/* glibc malloc/tst-malloc-too-large.c, reduced: every allocation function given a size
   above PTRDIFF_MAX (or one that overflows once rounded or aligned) returns NULL with errno
   ENOMEM (posix_memalign returns ENOMEM and leaves its pointer alone); a realloc or
   reallocarray that fails leaves the old block in place. Prints the number of failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad;
static size_t checks;

static void setup(void) {
  void *volatile p = malloc(16);
  free(p);
  errno = 0;
}

static void expect(const char *what, size_t size, size_t align, void *p) {
  checks++;
  if (p != NULL || errno != ENOMEM) {
    if (bad++ < 10)
      printf("FAIL %s size %#zx align %#zx: %p errno %d\n", what, size, align, p, errno);
    if (p != NULL)
      free(p);
  }
}

static void large(size_t size) {
  setup();
  expect("malloc", size, 0, malloc(size));
  char *old = malloc(16);
  memset(old, 'x', 16);
  setup();
  expect("realloc", size, 0, realloc(old, size));
  if (memcmp(old, "xxxxxxxxxxxxxxxx", 16) != 0)
    printf("FAIL realloc changed the old block\n"), bad++;
  free(old);
  for (size_t n = 1; n <= 8; n *= 2) {
    if (size % n)
      break;
    setup();
    expect("calloc", size, n, calloc(n, size / n));
    setup();
    expect("calloc'", size, n, calloc(size / n, n));
    old = malloc(16);
    setup();
    expect("reallocarray", size, n, reallocarray(old, n, size / n));
    setup();
    expect("reallocarray'", size, n, reallocarray(old, size / n, n));
    free(old);
  }
}

static void aligned(size_t size) {
  for (size_t align = 1; align > 0; align <<= 1) {
    setup();
    expect("memalign", size, align, memalign(align, size));
    if (align % sizeof(void *) == 0) {
      void *p = NULL;
      setup();
      int r = posix_memalign(&p, align, size);
      checks++;
      if (r != ENOMEM || p != NULL) {
        if (bad++ < 10)
          printf("FAIL posix_memalign size %#zx align %#zx: %d %p\n", size, align, r, p);
      }
    }
    if (size % align == 0) {
      setup();
      expect("aligned_alloc", size, align, aligned_alloc(align, size));
    }
  }
  setup();
  expect("valloc", size, 0, valloc(size));
  setup();
  expect("pvalloc", size, 0, pvalloc(size));
}

int main(void) {
  for (size_t i = 0; i <= 64; i++) {
    large(SIZE_MAX - i);
    aligned(SIZE_MAX - i);
  }
  for (size_t i = 1; i <= 64; i++) {
    large((size_t)PTRDIFF_MAX + i);
    aligned((size_t)PTRDIFF_MAX + i);
  }
  for (size_t msbs = (1UL << 14) - 1; msbs >= 1; msbs -= 97) {
    size_t size = (msbs << 50) | ((1UL << 50) - 1);
    large(size);
    aligned(size);
    large(msbs << 50);
    aligned(msbs << 50);
    if (msbs < 97)
      break;
  }
  printf("%zu checks, %d failures\n", checks, bad);
  return bad != 0;
}
