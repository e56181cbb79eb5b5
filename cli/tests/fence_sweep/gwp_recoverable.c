/* After LLVM's compiler-rt/lib/gwp_asan/tests/recoverable.cpp: in recoverable mode every
   error is reported once and the program goes on. Each error repeats 100 times from one
   place: a double free, a free of an interior pointer, a write to a freed block, writes 16
   bytes before and after a 1-byte block; "threads": four threads at once on one freed block
   (InterThreadThrashingSingleAlloc), each repeating one of those errors. Written for gpa's
   sweep, no upstream code. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMES 100

static char *shared;
static volatile int go;

static void touch (char *p) { *(volatile char *) p = 7; }

static void *thrash (void *arg)
{
  long job = (long) arg;
  while (!go)
    ;
  for (int i = 0; i < TIMES; i++)
    switch (job)
      {
      case 0: free (shared); break;
      case 1: free (shared + 1); break;
      case 2: touch (shared); break;
      default: touch (shared - 16); touch (shared + 16); break;
      }
  return NULL;
}

int main (int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "";
  if (!strcmp (what, "threads"))
    {
      pthread_t threads[4];
      shared = malloc (1);
      free (shared);
      for (long i = 0; i < 4; i++)
        pthread_create (&threads[i], NULL, thrash, (void *) i);
      go = 1;
      for (int i = 0; i < 4; i++)
        pthread_join (threads[i], NULL);
      puts ("threads done");
      return 0;
    }
  char *twice = malloc (1);
  free (twice);
  for (int i = 0; i < TIMES; i++)
    free (twice);
  char *inner = malloc (1);
  for (int i = 0; i < TIMES; i++)
    free (inner + 1);
  free (inner);
  char *gone = malloc (1);
  free (gone);
  for (int i = 0; i < TIMES; i++)
    touch (gone);
  char *edge = malloc (1);
  for (int i = 0; i < TIMES; i++)
    {
      touch (edge - 16);
      touch (edge + 16);
    }
  free (edge);
  puts ("done");
  return 0;
}
