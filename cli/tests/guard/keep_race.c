/* Threads read freed blocks (each read a use after free, stepped over) while other threads
   free and allocate enough to push blocks out of a small window of kept contents and reuse
   their extents; every live block is checked readable and intact before its free and
   every 64 rounds. Prints "ok" and exits 0 unless a live block lost its bytes. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUTATORS 2
#define READERS 2
#define LIVE 16
#define ROUNDS 1500
#define READS 3000
#define RING 64
#define SIZE 64

static unsigned char *volatile ring[RING];
static volatile unsigned long sink;

static void check(const unsigned char *block, unsigned char byte) {
  for (int i = 0; i < SIZE; i++)
    if (block[i] != byte) {
      printf("corrupt\n");
      exit(1);
    }
}

static void *mutator(void *arg) {
  unsigned long id = (unsigned long)arg;
  unsigned char *live[LIVE];
  unsigned char bytes[LIVE];
  for (int i = 0; i < LIVE; i++) {
    bytes[i] = (unsigned char)(i * 2 + 1);
    live[i] = malloc(SIZE);
    memset(live[i], bytes[i], SIZE);
  }
  for (int round = 0; round < ROUNDS; round++) {
    int i = round % LIVE;
    check(live[i], bytes[i]);
    free(live[i]);
    ring[(id * RING / MUTATORS + round) % RING] = live[i];
    bytes[i] = (unsigned char)((round * 7 + id) | 1);
    live[i] = malloc(SIZE);
    memset(live[i], bytes[i], SIZE);
    if (round % 64 == 0)
      for (int j = 0; j < LIVE; j++)
        check(live[j], bytes[j]);
  }
  for (int i = 0; i < LIVE; i++) {
    check(live[i], bytes[i]);
    free(live[i]);
  }
  return 0;
}

static void *reader(void *arg) {
  unsigned long n = (unsigned long)arg;
  for (int read = 0; read < READS; n += 7) {
    const unsigned char *block = ring[n % RING];
    if (!block) {
      sched_yield();
      continue;
    }
    sink += block[n % SIZE];
    read++;
  }
  return 0;
}

int main(void) {
  pthread_t mutators[MUTATORS], readers[READERS];
  for (unsigned long i = 0; i < MUTATORS; i++)
    pthread_create(&mutators[i], 0, mutator, (void *)i);
  for (unsigned long i = 0; i < READERS; i++)
    pthread_create(&readers[i], 0, reader, (void *)i);
  for (int i = 0; i < MUTATORS; i++)
    pthread_join(mutators[i], 0);
  for (int i = 0; i < READERS; i++)
    pthread_join(readers[i], 0);
  printf("ok\n");
  return 0;
}
