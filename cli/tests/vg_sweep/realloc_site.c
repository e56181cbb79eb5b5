/* A block resized by realloc is, for the leak report, allocated where it was last resized:
 * memcheck's realloc3.c, whose blocks a realloc to the same, a smaller and a bigger size
 * leaves in place under gpa (memcheck always moves them). Reduced for gpa's tests, with
 * resizes through reallocarray, a helper function, and of a large block. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

static char *grow(char *block, size_t size)
{
   return realloc(block, size);
}

int main(void)
{
   char *same = malloc(5);
   char *smaller = malloc(10);
   char *bigger = malloc(2);
   char *twice = malloc(40);
   char *array = malloc(24);
   char *helped = malloc(20);
   char *large = malloc(300000);

   same = realloc(same, 5);
   smaller = realloc(smaller, 5);
   bigger = realloc(bigger, 5);
   twice = realloc(twice, 36);
   twice = realloc(twice, 30);
   array = reallocarray(array, 3, 7);
   helped = grow(helped, 21);
   large = realloc(large, 250000);

   fprintf(stderr, "%p %p %p %p %p %p %p\n", (void *)same, (void *)smaller, (void *)bigger,
           (void *)twice, (void *)array, (void *)helped, (void *)large);
   same = smaller = bigger = twice = array = helped = large = NULL;
   return 0;
}
