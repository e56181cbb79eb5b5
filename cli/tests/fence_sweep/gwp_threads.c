/* After LLVM's compiler-rt/lib/gwp_asan/tests/thread_contention.cpp and DUMA's
   tests/testmt.c and thread-test.c: eight threads allocate, fill, check and free blocks of
   1 to 4096 bytes at once (with fopen and fclose, which allocate inside libc), and free
   blocks made by other threads. Written for gpa's sweep, no upstream code. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 2000

static char *handed[THREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int bad;

static void *work (void *arg)
{
  long me = (long) arg;
  unsigned seed = (unsigned) me + 1;
  for (int i = 0; i < ROUNDS; i++)
    {
      size_t size = 1 + rand_r (&seed) % 4096;
      char *p = malloc (size);
      memset (p, (int) me, size);
      if (p[size - 1] != (char) me)
        __atomic_add_fetch (&bad, 1, __ATOMIC_RELAXED);
      pthread_mutex_lock (&lock);
      char *other = handed[(me + 1) % THREADS];
      handed[(me + 1) % THREADS] = NULL;
      handed[me] = handed[me] ? (free (handed[me]), p) : p;
      pthread_mutex_unlock (&lock);
      free (other);
      if (i % 200 == 0)
        {
          FILE *f = fopen ("/proc/self/stat", "r");
          if (f)
            fclose (f);
        }
    }
  return NULL;
}

int main (void)
{
  pthread_t threads[THREADS];
  for (long i = 0; i < THREADS; i++)
    pthread_create (&threads[i], NULL, work, (void *) i);
  for (int i = 0; i < THREADS; i++)
    pthread_join (threads[i], NULL);
  for (int i = 0; i < THREADS; i++)
    free (handed[i]);
  printf ("bad %d\n", bad);
  return 0;
}
