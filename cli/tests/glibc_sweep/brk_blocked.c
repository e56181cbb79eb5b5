/* glibc malloc/tst-malloc-alternate-path.c, reduced: with a mapping placed right after the
   program break (sbrk fails), small and large mallocs still succeed (glibc falls back to
   mmap) and the break does not move. The small blocks are kept (still reachable). */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void *keep[256];

int main(void) {
  void *brk0 = sbrk(0);
  long page = sysconf(_SC_PAGESIZE);
  void *next = (void *)(((uintptr_t)brk0 + page - 1) & ~(uintptr_t)(page - 1));
  void *block = mmap(next, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("obstruction placed: %d\n", block == next);
  printf("sbrk fails: %d\n", sbrk(page) == (void *)-1);
  int ok = 0;
  for (size_t i = 0; i < 256; i++)
    ok += (keep[i] = malloc(alignof(max_align_t))) != NULL;
  printf("small mallocs: %d\n", ok);
  void *large = malloc(10 << 20);
  printf("large malloc: %d\n", large != NULL);
  free(large);
  printf("break unchanged: %d\n", sbrk(0) == brk0);
  return 0;
}
