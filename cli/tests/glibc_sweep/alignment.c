/* glibc malloc/tst-mallocalign1.c and tst-memalign-2.c / -3.c, reduced: malloc's blocks are
   aligned to 16 (MALLOC_ALIGNMENT on x86-64) for every size; memalign's to what was asked,
   also for a block asked with the usable size of a freed one, in the main thread and in
   another. */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int misaligned, small_below_16;

static void check(void *p, size_t align) {
  if (p == NULL || ((uintptr_t)p & (align - 1)) != 0)
    misaligned++;
}

/* A malloc block of fewer than 16 bytes: glibc aligns it to 16 as every block; gpa's guard
   mode to its size rounded up to a power of two (C17 7.22.3 allows it): counted apart. */
static void check_small(void *p, size_t size) {
  size_t natural = 1;
  while (natural < size)
    natural <<= 1;
  check(p, natural);
  if (((uintptr_t)p & 15) != 0)
    small_below_16++;
}

static void *work(void *arg) {
  size_t sizes[] = {0, 2, 8, 13, 16, 23, 43, 123, 1000, 70000, 300000};
  for (int i = 0; i < 11; i++) {
    void *p = malloc(sizes[i]);
    if (sizes[i] < 16)
      check_small(p, sizes[i]);
    else
      check(p, 16);
    free(p);
  }
  struct { size_t size, align; } cases[] = {{24, 32}, {24, 64}, {128, 128}, {500, 128},
                                            {23450, 64}, {33650, 64}, {10, 4096}, {100, 65536}};
  for (int i = 0; i < 8; i++) {
    void *p = memalign(cases[i].align, cases[i].size);
    check(p, cases[i].align);
    size_t usable = malloc_usable_size(p);
    free(p);
    p = memalign(cases[i].align, usable);
    check(p, cases[i].align);
    free(p);
  }
  void *ptr[10];
  for (int i = 0; i < 10; i++) {
    ptr[i] = i == 4 ? memalign(64, 256) : malloc(256);
    check(ptr[i], i == 4 ? 64 : 16);
  }
  for (int i = 0; i < 10; i++)
    free(ptr[i]);
  return arg;
}

int main(void) {
  work(NULL);
  pthread_t t;
  pthread_create(&t, NULL, work, NULL);
  pthread_join(t, NULL);
  printf("misaligned: %d\n", misaligned);
  printf("blocks below 16 bytes not 16-aligned: %d\n", small_below_16);
  return 0;
}
