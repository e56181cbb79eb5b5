/* The lock order of glibc bug 19431 (malloc/tst-malloc-fork-deadlock.c) made deterministic:
   thread R holds a stream's lock (flockfile), thread F runs fflush (NULL) (takes the list of
   streams' lock, then waits for R's stream), the main thread forks (waits in fork for the
   list's lock), and only then R allocates (its first block, and a large one) and unlocks its
   stream. glibc takes the list's lock before its malloc's, so R's malloc cannot wait for the
   forking thread: everything finishes. The child allocates before it exits. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static FILE *stream;
static void pause_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void *holder(void *arg) {
  flockfile(stream);
  pause_ms(400);
  char *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  free(p);
  funlockfile(stream);
  return arg;
}

static void *flusher(void *arg) {
  pause_ms(100);
  fflush(NULL);
  return arg;
}

int main(void) {
  stream = tmpfile();
  fputs("x", stream);
  pthread_t r, f;
  pthread_create(&r, NULL, holder, NULL);
  pthread_create(&f, NULL, flusher, NULL);
  pause_ms(200);
  pid_t pid = fork();
  if (pid == 0) {
    char *p = malloc(100);
    free(p);
    _exit(17);
  }
  int status;
  waitpid(pid, &status, 0);
  pthread_join(r, NULL);
  pthread_join(f, NULL);
  fclose(stream);
  printf("child exited with %d\n", WEXITSTATUS(status));
  return 0;
}
