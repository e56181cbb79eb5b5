/* glibc malloc/tst-interpose-aux.c, reduced: the program brings its own malloc, free, calloc
   and realloc (a bump allocator over a static arena, each block preceded by its size) and
   then writes one byte past a block of its own. Its definitions come first in symbol lookup,
   so neither Valgrind nor a preloaded allocator sees these blocks. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Alignas(16) char arena[1 << 22];
static size_t used;
static size_t calls;

void *malloc(size_t size) {
  size_t need = (size + 16 + 15) & ~(size_t)15;
  if (used + need > sizeof arena)
    return NULL;
  char *p = arena + used;
  used += need;
  *(size_t *)p = size;
  calls++;
  return p + 16;
}

void free(void *p) { (void)p; }

void *calloc(size_t n, size_t size) {
  void *p = malloc(n * size);
  if (p)
    memset(p, 0, n * size);
  return p;
}

void *realloc(void *old, size_t size) {
  void *p = malloc(size);
  if (p && old) {
    size_t have = *(size_t *)((char *)old - 16);
    memcpy(p, old, have < size ? have : size);
  }
  return p;
}

int main(void) {
  char *volatile p = malloc(10);
  p[10] = 'x';
  free(p);
  char *q = strdup("own allocator");
  printf("%s, calls seen: %d\n", q, calls >= 2);
  free(q);
  return 0;
}
