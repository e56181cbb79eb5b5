/* glibc malloc/tst-aligned-alloc-random-thread-cross.c, reduced: threads allocate blocks of
   random sizes and alignments (aligned_alloc, memalign, posix_memalign) and other threads
   free them; every block is aligned and keeps what its owner wrote. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T 4
#define N 2000
static void *blocks[T][N];
static size_t sizes[T][N];
static int bad[T];
static pthread_barrier_t barrier;

static void *run(void *arg) {
  int me = (int)(intptr_t)arg;
  unsigned seed = me + 1;
  for (int i = 0; i < N; i++) {
    size_t align = (size_t)1 << (rand_r(&seed) % 16);
    size_t size = rand_r(&seed) % 3000;
    void *p = NULL;
    switch (i % 3) {
    case 0: p = aligned_alloc(align, size); break;
    case 1: p = memalign(align, size); break;
    case 2: if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size)) p = NULL; break;
    }
    if (!p || ((uintptr_t)p & (align - 1)))
      bad[me]++;
    memset(p, me + 1, size);
    blocks[me][i] = p;
    sizes[me][i] = size;
  }
  pthread_barrier_wait(&barrier);
  int other = (me + 1) % T;
  for (int i = 0; i < N; i++) {
    unsigned char *p = blocks[other][i];
    for (size_t j = 0; j < sizes[other][i]; j++)
      if (p[j] != other + 1) {
        bad[me]++;
        break;
      }
    free(p);
  }
  return NULL;
}

int main(void) {
  pthread_t t[T];
  pthread_barrier_init(&barrier, NULL, T);
  for (int i = 0; i < T; i++)
    pthread_create(&t[i], NULL, run, (void *)(intptr_t)i);
  int total = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(t[i], NULL);
    total += bad[i];
  }
  printf("bad blocks: %d\n", total);
  return 0;
}
