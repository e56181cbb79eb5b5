/* glibc malloc/tst-malloc-fork-deadlock.c (BZ #19431), reduced: threads fork (the child
   calls malloc before _exit) while other threads allocate through getline and fflush (NULL);
   no deadlock in parent or child. Reduced to one forking thread, two
   reading threads and five forks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int stop;
static char path[] = "/tmp/gpa-fork-deadlock-XXXXXX";

static void *forker(void *arg) {
  for (int i = 0; i < 5; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      char *p = malloc(100 + i);
      memset(p, 1, 100 + i);
      free(p);
      char *line = NULL;
      size_t n = 0;
      FILE *f = fopen(path, "r");
      getline(&line, &n, f);
      _exit(strlen(line) == 50001 ? 17 : 18);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 17) {
      printf("bad child status %d\n", status);
      abort();
    }
  }
  return arg;
}

static void *reader(void *arg) {
  FILE *f = fopen(path, "r");
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    rewind(f);
    char *line = NULL;
    size_t n = 0;
    if (getline(&line, &n, f) < 0)
      abort();
    free(line);
  }
  fclose(f);
  return arg;
}

static void *flusher(void *arg) {
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
    fflush(NULL);
  return arg;
}

int main(void) {
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  for (int i = 0; i < 50000; i++)
    fputc('x', f);
  fputc('\n', f);
  fclose(f);
  pthread_t forks[1], reads[2], flush;
  for (int i = 0; i < 2; i++)
    pthread_create(&reads[i], NULL, reader, NULL);
  pthread_create(&flush, NULL, flusher, NULL);
  pthread_create(&forks[0], NULL, forker, NULL);
  pthread_join(forks[0], NULL);
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  pthread_join(flush, NULL);
  for (int i = 0; i < 2; i++)
    pthread_join(reads[i], NULL);
  unlink(path);
  printf("5 children exited\n");
  return 0;
}
