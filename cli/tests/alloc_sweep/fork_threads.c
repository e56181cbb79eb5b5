/* Reduces LLVM compiler-rt lib/scudo/standalone/tests/wrappers_c_test.cpp (Fork,
   DisableForkEnable: a child allocates, writes and frees before _exit while another thread
   of the parent uses the allocator) to a program of our own, without scudo's
   malloc_disable: two threads allocate and free without pause (one frees blocks the other
   allocated) while the main thread forks 20 times; each child allocates, writes and frees
   small and large blocks, frees a block the parent's worker allocated before the fork, and
   exits 0. No deadlock; the parent prints how many children exited 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;
static void *_Atomic handoff;

static void *producer(void *arg) {
  (void)arg;
  for (unsigned i = 0; !stop; i++) {
    char *p = malloc(16 + i % 4000);
    p[0] = 1;
    void *old = __atomic_exchange_n(&handoff, p, __ATOMIC_ACQ_REL);
    free(old);
    free(malloc(100000 + i % 3));
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  while (!stop) {
    free(__atomic_exchange_n(&handoff, NULL, __ATOMIC_ACQ_REL));
    char *q = malloc(48);
    q[47] = 2;
    free(q);
  }
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, producer, NULL);
  pthread_create(&b, NULL, consumer, NULL);
  int good = 0;
  for (int i = 0; i < 20; i++) {
    usleep(2000);
    pid_t pid = fork();
    if (pid == 0) {
      free(__atomic_exchange_n(&handoff, NULL, __ATOMIC_ACQ_REL));
      char *p = malloc(100);
      memset(p, 0x42, 100);
      free(p);
      p = malloc(1 << 20);
      memset(p, 0x42, 1 << 20);
      free(p);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    good += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  stop = 1;
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  free(handoff);
  printf("children exited 0: %d of 20\n", good);
  return 0;
}
