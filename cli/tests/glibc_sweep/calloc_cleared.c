/* glibc malloc/tst-calloc.c, reduced: every calloc'd byte is zero, also in blocks that reuse
   memory written before; calloc (0, x) and calloc (x, 0) succeed (and the test drops their
   results: five blocks of 0 bytes, definitely lost). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define N 5000

static int fixed(int size) {
  static char *ptrs[N];
  int bad = 0, i;
  for (i = 0; i < N; ++i) {
    ptrs[i] = calloc(1, size);
    for (int j = 0; j < size; ++j) {
      bad += ptrs[i][j] != 0;
      ptrs[i][j] = (char)0xff;
    }
  }
  while (i-- > 0)
    free(ptrs[i]);
  return bad;
}

static int randomised(void) {
  static char *ptrs[N];
  int bad = 0, i;
  for (i = 0; i < N; ++i) {
    int n = 1 + random() % 10, elem = 1 + random() % 100;
    ptrs[i] = calloc(n, elem);
    for (int j = 0; j < n * elem; ++j) {
      bad += ptrs[i][j] != 0;
      ptrs[i][j] = (char)0xff;
    }
  }
  while (i-- > 0)
    free(ptrs[i]);
  return bad;
}

int main(void) {
  int bad = 0;
  int sizes[] = {15, 5, 17, 6, 31, 96};
  for (int k = 0; k < 6; k++)
    bad += fixed(sizes[k]);
  bad += randomised();
  printf("bytes not cleared: %d\n", bad);
  volatile size_t max_size = UINT_MAX, zero_size = 0;
  void *volatile r;
  r = calloc(0, 0);
  printf("calloc(0, 0): %s\n", r ? "block" : "NULL");
  r = calloc(0, max_size);
  printf("calloc(0, UINT_MAX): %s\n", r ? "block" : "NULL");
  r = calloc(max_size, 0);
  printf("calloc(UINT_MAX, 0): %s\n", r ? "block" : "NULL");
  r = calloc(0, ~zero_size);
  printf("calloc(0, SIZE_MAX): %s\n", r ? "block" : "NULL");
  r = calloc(~zero_size, 0);
  printf("calloc(SIZE_MAX, 0): %s\n", r ? "block" : "NULL");
  r = NULL;
  return 0;
}
