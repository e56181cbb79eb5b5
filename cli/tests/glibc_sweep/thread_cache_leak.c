/* glibc malloc/tst-malloc-tcache-leak.c, reduced: many threads each allocate, free, and
   return a block that main frees after the thread died; the bytes in use afterwards
   (mallinfo's uordblks) are not above the bytes before plus one per thread. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *worker(void *data) {
  void *ret = malloc(32);
  __asm__ volatile("" ::: "memory");
  free(ret);
  return malloc(32);
}

int main(void) {
  int threads = 3000;
  pthread_t *thread = calloc(1, sizeof(pthread_t));
  struct mallinfo2 before = mallinfo2();
  printf("in use before: %d\n", before.uordblks != 0);
  for (int i = 0; i < threads; i++) {
    void *ret;
    pthread_create(thread, NULL, worker, NULL);
    pthread_join(*thread, &ret);
    free(ret);
  }
  struct mallinfo2 after = mallinfo2();
  fprintf(stderr, "uordblks before %zu after %zu\n", before.uordblks, after.uordblks);
  printf("grown by less than 32 bytes a thread: %d\n",
         after.uordblks < before.uordblks + 32 * threads);
  free(thread);
  return 0;
}
