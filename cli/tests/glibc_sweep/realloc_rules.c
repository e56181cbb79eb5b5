/* glibc malloc/tst-realloc.c, reduced: realloc (NULL, -1) fails with ENOMEM; realloc keeps
   the contents when growing and shrinking; a failed realloc leaves the block untouched;
   realloc (p, 0) frees p and returns NULL (glibc); realloc (NULL, 0) is malloc (0); growing
   a block to its malloc_usable_size does not move it (below glibc's mmap threshold:
   2.36 may move a mmapped one). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  errno = 0;
  void *p = realloc(NULL, (size_t)-1);
  printf("realloc(NULL, -1): %s errno %s\n", p ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
  p = realloc(NULL, 10);
  printf("realloc(NULL, 10): %s\n", p ? "block" : "NULL");
  free(p);
  unsigned char *c = calloc(20, 1);
  c = realloc(c, 200);
  int zero = 1;
  for (int i = 0; i < 20; i++)
    zero &= c[i] == 0;
  printf("grown calloc block keeps zeros: %d\n", zero);
  free(c);
  c = realloc(NULL, 100);
  memset(c, 0xff, 100);
  c = realloc(c, 16);
  int ff = 1;
  for (int i = 0; i < 16; i++)
    ff &= c[i] == 0xff;
  printf("shrunk block keeps bytes: %d\n", ff);
  errno = 0;
  void *q = realloc(c, (size_t)-1);
  ff = 1;
  for (int i = 0; i < 16; i++)
    ff &= c[i] == 0xff;
  printf("realloc(p, -1): %s errno %s, old block intact: %d\n", q ? "block" : "NULL",
         errno == ENOMEM ? "ENOMEM" : "other", ff);
  p = realloc(c, 0);
  printf("realloc(p, 0): %s\n", p ? "block" : "NULL");
  p = realloc(NULL, 0);
  printf("realloc(NULL, 0): %s\n", p ? "block" : "NULL");
  free(p);
  int moved = 0, tried = 0;
  for (size_t sz = 3; sz < 120 * 1024; sz += 2048) {
    p = realloc(NULL, sz);
    size_t usable = malloc_usable_size(p);
    memset(p, 1, usable);
    void *n = realloc(p, usable);
    tried++;
    if (n != p)
      moved++;
    free(n);
  }
  printf("grown to usable size: %d of %d moved\n", moved, tried);
  return 0;
}
