/* One faulting instruction reached from several stacks: Valgrind reports each stack once
 * (memcheck's threadname.c writes one byte past blocks of 1 to 5 bytes from one line, called
 * from main and from three threads: five errors). Run with gpa run --guard. Reduced for
 * gpa's tests, with a loop faulting at one stack and reads after free from two callers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void poke(int size)
{
   char *block = malloc(size);
   block[size] = 0;
   free(block);
}

static int peek(char *freed)
{
   return freed[0];
}

static void from_a(void) { poke(16); }
static void from_b(void) { poke(32); }

static void *worker(void *arg)
{
   poke(48);
   return arg;
}

int main(void)
{
   pthread_t thread;
   int i, sum = 0;
   from_a();
   from_b();
   pthread_create(&thread, NULL, worker, NULL);
   pthread_join(thread, NULL);
   for (i = 0; i < 100; i++)
      poke(64);
   char *freed = malloc(80);
   free(freed);
   sum += peek(freed);
   sum += peek(freed);
   fprintf(stderr, "done %d\n", sum);
   return 0;
}
