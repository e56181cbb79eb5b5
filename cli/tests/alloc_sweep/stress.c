/* Reduces microsoft/mimalloc test/test-stress.c to a program of our own: threads allocate
   blocks of random sizes (mostly small, some large), stamp them, keep some, and swap others
   into a shared transfer array from which another thread takes and frees them (blocks freed
   by a thread other than their allocator's), over several rounds in which threads end and new
   ones start. Every block's stamp is checked before its free; the program prints the number
   of bad stamps (0) and frees everything. Deterministic sizes (a per-thread xorshift). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 4
#define TRANSFERS 256
#define ITERS 3000

static void *_Atomic transfer[TRANSFERS];
static _Atomic long bad;

static uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A block of `words` words whose first word is its size and the others its address. */
static uintptr_t *alloc_items(uint64_t *s) {
  size_t words = 1 + next(s) % 32;
  if (next(s) % 100 == 0)
    words *= 1000;
  if (next(s) % 10000 == 0)
    words *= 10;
  uintptr_t *p = malloc(words * sizeof *p);
  p[0] = words;
  for (size_t i = 1; i < words; i++)
    p[i] = (uintptr_t)p ^ i;
  return p;
}

static void free_items(uintptr_t *p) {
  if (p == NULL)
    return;
  for (size_t i = 1; i < p[0]; i++)
    if (p[i] != ((uintptr_t)p ^ i))
      bad++;
  free(p);
}

static void *worker(void *arg) {
  uint64_t s = (uintptr_t)arg * 2654435761u + 1;
  uintptr_t **kept = NULL;
  size_t count = 0, capacity = 0;
  for (int i = 0; i < ITERS; i++) {
    uint64_t r = next(&s) % 100;
    if (r < 50) {
      if (count == capacity) {
        capacity = capacity ? 2 * capacity : 64;
        kept = realloc(kept, capacity * sizeof *kept);
      }
      kept[count++] = alloc_items(&s);
    } else if (r < 70 && count > 0) {
      size_t k = next(&s) % count;
      free_items(kept[k]);
      kept[k] = kept[--count];
    } else {
      size_t t = next(&s) % TRANSFERS;
      free_items(__atomic_exchange_n(&transfer[t], alloc_items(&s), __ATOMIC_ACQ_REL));
    }
  }
  while (count > 0)
    free_items(kept[--count]);
  free(kept);
  return NULL;
}

int main(void) {
  for (int round = 0; round < ROUNDS; round++) {
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
      pthread_create(&threads[t], NULL, worker, (void *)(uintptr_t)(round * THREADS + t + 1));
    for (int t = 0; t < THREADS; t++)
      pthread_join(threads[t], NULL);
  }
  for (int t = 0; t < TRANSFERS; t++)
    free_items(transfer[t]);
  printf("bad stamps: %ld\n", (long)bad);
  return 0;
}
