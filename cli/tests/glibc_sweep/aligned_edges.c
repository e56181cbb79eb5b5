/* glibc malloc/tst-memalign.c, tst-posix_memalign.c, tst-valloc.c, tst-pvalloc.c and
   tst-aligned-alloc.c, reduced: huge sizes fail with ENOMEM (also those that overflow once
   aligned, BZ #15855-#15857), a huge alignment with EINVAL (BZ #16038), size 0 succeeds,
   posix_memalign rejects alignments that are not powers of two or not multiples of
   sizeof (void *) (EINVAL, pointer left alone), aligned_alloc rejects 0, 65 and
   SIZE_MAX / 2 + 1 (EINVAL), memalign rounds an alignment that is no power of two up. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *err(void) {
  return errno == ENOMEM ? "ENOMEM" : errno == EINVAL ? "EINVAL" : errno == 0 ? "0" : "other";
}

static void show(const char *what, void *p, size_t align) {
  printf("%s: %s errno %s", what, p ? "block" : "NULL", err());
  if (p && align)
    printf(" aligned %d", ((uintptr_t)p & (align - 1)) == 0);
  printf("\n");
  free(p);
}

int main(void) {
  size_t page = getpagesize();
  errno = 0; show("memalign(8, -1)", memalign(sizeof(void *), -1), 0);
  errno = 0; show("memalign(page, -page)", memalign(page, -page), 0);
  errno = 0; show("memalign(-1, page)", memalign(-1, page), 0);
  errno = 0; show("memalign(SIZE_MAX/2+1, 64)", memalign(SIZE_MAX / 2 + 1, 64), 0);
  errno = 0; show("memalign(8, 0)", memalign(sizeof(void *), 0), 0);
  errno = 0; show("memalign(0x100, 10)", memalign(0x100, 10), 0x100);
  errno = 0; show("memalign(0, 10)", memalign(0, 10), 16);
  errno = 0; show("memalign(1, 10)", memalign(1, 10), 16);
  errno = 0; show("memalign(24, 10)", memalign(24, 10), 32);
  errno = 0; show("memalign(0x300, 10)", memalign(0x300, 10), 0x400);
  void *p = NULL;
  int r = posix_memalign(&p, sizeof(void *), -1);
  printf("posix_memalign(8, -1): %d untouched %d\n", r, p == NULL);
  r = posix_memalign(&p, page, -page);
  printf("posix_memalign(page, -page): %d untouched %d\n", r, p == NULL);
  r = posix_memalign(&p, -1, page);
  printf("posix_memalign(-1, page): %d untouched %d\n", r, p == NULL);
  r = posix_memalign(&p, sizeof(void *), 0);
  printf("posix_memalign(8, 0): %d block %d\n", r, p != NULL);
  free(p);
  void *q = (void *)1;
  r = posix_memalign(&q, 0x300, 10);
  printf("posix_memalign(0x300, 10): %d untouched %d\n", r, q == (void *)1);
  r = posix_memalign(&q, 0, 10);
  printf("posix_memalign(0, 10): %d untouched %d\n", r, q == (void *)1);
  r = posix_memalign(&q, 4, 10);
  printf("posix_memalign(4, 10): %d untouched %d\n", r, q == (void *)1);
  errno = 1789;
  p = NULL;
  r = posix_memalign(&p, 0x100, 10);
  printf("posix_memalign(0x100, 10): %d aligned %d errno kept %d\n", r,
         p && ((uintptr_t)p & 0xff) == 0, errno == 1789);
  free(p);
  errno = 0; show("valloc(-1)", valloc(-1), 0);
  errno = 0; show("valloc(-page)", valloc(-page), 0);
  errno = 0; show("valloc(0)", valloc(0), page);
  errno = 0; show("valloc(32)", valloc(32), page);
  errno = 0; show("pvalloc(-1)", pvalloc(-1), 0);
  errno = 0; show("pvalloc(-page)", pvalloc(-page), 0);
  errno = 0; show("pvalloc(0)", pvalloc(0), page);
  errno = 0; p = pvalloc(32);
  printf("pvalloc(32): usable >= page %d\n", malloc_usable_size(p) >= page);
  show("pvalloc(32)", p, page);
  errno = 0; show("aligned_alloc(64, 64)", aligned_alloc(64, 64), 64);
  errno = 0; show("aligned_alloc(1, 64)", aligned_alloc(1, 64), 16);
  errno = 0; show("aligned_alloc(65, 64)", aligned_alloc(65, 64), 0);
  errno = 0; show("aligned_alloc(0, 64)", aligned_alloc(0, 64), 0);
  errno = 0; show("aligned_alloc(SIZE_MAX/2+1, 64)", aligned_alloc(SIZE_MAX / 2 + 1, 64), 0);
  errno = 0; show("aligned_alloc(64, 10)", aligned_alloc(64, 10), 64);
  errno = 0; show("aligned_alloc(4096, 0)", aligned_alloc(4096, 0), 4096);
  return 0;
}
