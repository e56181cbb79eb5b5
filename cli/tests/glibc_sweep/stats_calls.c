/* glibc malloc/tst-mallinfo2.c, tst-mallopt.c and tst-trim1.c, reduced: mallinfo2's in-use
   bytes grow by at least what was allocated; mallopt accepts the documented parameters
   (returns 1) and rejects an unknown one (returns 0); malloc_trim runs on a heap with holes
   and the heap stays usable; malloc_stats and malloc_info print. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 2000
static void *arr[N];

int main(void) {
  struct mallinfo2 before = mallinfo2();
  size_t total = 0;
  void *kept[20];
  for (int i = 1; i < 20; ++i) {
    kept[i] = malloc(160 * i);
    total += 160 * i;
  }
  struct mallinfo2 after = mallinfo2();
  printf("uordblks grew by the sizes: %d\n", after.uordblks >= before.uordblks + total);
  for (int i = 1; i < 20; ++i)
    free(kept[i]);
  struct mallinfo old = mallinfo();
  printf("mallinfo uordblks >= 0: %d\n", old.uordblks >= 0);
  printf("mallopt M_CHECK_ACTION: %d\n", mallopt(M_CHECK_ACTION, 1));
  printf("mallopt M_MMAP_MAX: %d\n", mallopt(M_MMAP_MAX, 64 * 1024));
  printf("mallopt M_MMAP_THRESHOLD: %d\n", mallopt(M_MMAP_THRESHOLD, 64 * 1024));
  printf("mallopt M_MXFAST: %d\n", mallopt(M_MXFAST, 0));
  printf("mallopt M_PERTURB: %d\n", mallopt(M_PERTURB, 0xa5));
  printf("mallopt M_TOP_PAD: %d\n", mallopt(M_TOP_PAD, 64 * 1024));
  printf("mallopt M_TRIM_THRESHOLD: %d\n", mallopt(M_TRIM_THRESHOLD, -1));
  printf("mallopt M_ARENA_MAX: %d\n", mallopt(M_ARENA_MAX, 400));
  printf("mallopt M_ARENA_TEST: %d\n", mallopt(M_ARENA_TEST, 8));
  printf("mallopt 12345: %d\n", mallopt(12345, 1));
  printf("mallopt M_MXFAST too big: %d\n", mallopt(M_MXFAST, 1 << 20));
  for (int i = 0; i < N; ++i) {
    size_t size = random() % 16384;
    arr[i] = malloc(size);
    memset(arr[i], size, size);
  }
  for (int i = 0; i < N; ++i)
    if (i % 13 != 0)
      free(arr[i]);
  int trimmed = malloc_trim(0);
  printf("malloc_trim returned 0 or 1: %d\n", trimmed == 0 || trimmed == 1);
  char *p = malloc(30000);
  memset(p, 2, 30000);
  free(p);
  malloc_trim(0);
  for (int i = 0; i < N; i += 13)
    free(arr[i]);
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  int info = malloc_info(0, mem);
  fclose(mem);
  printf("malloc_info: %d, starts with <malloc: %d\n", info, strncmp(buf, "<malloc", 7) == 0);
  free(buf);
  mem = open_memstream(&buf, &len);
  printf("malloc_info(1): %d\n", malloc_info(1, mem));
  fclose(mem);
  free(buf);
  return 0;
}
