/* glibc malloc/tst-malloc-stats-cancellation.c (BZ #22830), reduced: a thread with a
   cancellation pending calls malloc_stats (its output to stderr goes to a pipe) and then
   fputs to stderr, a cancellation point; the thread is cancelled, malloc_stats's output is
   there and the fputs text is not; malloc stays usable (its lock was not left held). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <malloc.h>

static void *victim(void *gate) {
  pthread_barrier_wait(gate);
  malloc_stats();
  fputs("this call should trigger cancellation\n", stderr);
  return NULL;
}

static void *drain(void *arg) {
  int fd = *(int *)arg;
  char *buf = malloc(1 << 16);
  size_t len = 0;
  ssize_t n;
  while ((n = read(fd, buf + len, (1 << 16) - 1 - len)) > 0)
    len += n;
  buf[len] = 0;
  return buf;
}

int main(void) {
  int pipefd[2];
  pipe(pipefd);
  int saved = dup(2);
  dup2(pipefd[1], 2);
  close(pipefd[1]);
  pthread_t d, t;
  pthread_create(&d, NULL, drain, &pipefd[0]);
  pthread_barrier_t gate;
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&t, NULL, victim, &gate);
  pthread_cancel(t);
  pthread_barrier_wait(&gate);
  void *rv;
  pthread_join(t, &rv);
  fclose(stderr);
  char *out;
  pthread_join(d, (void **)&out);
  dup2(saved, 2);
  printf("cancelled: %d\n", rv == PTHREAD_CANCELED);
  printf("malloc_stats printed: %d\n", strstr(out, "max mmap bytes") != NULL || strstr(out, "in use bytes") != NULL);
  printf("fputs printed: %d\n", strstr(out, "trigger cancellation") != NULL);
  free(out);
  void *p = malloc(100);
  printf("malloc after: %d\n", p != NULL);
  free(p);
  return 0;
}
