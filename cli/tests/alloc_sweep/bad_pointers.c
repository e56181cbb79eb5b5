/* Reduces LLVM compiler-rt lib/scudo/standalone/tests/wrappers_c_test.cpp (Malloc: free of
   a block's address plus one; Realloc: realloc of a freed block) and microsoft/snmalloc
   src/test/func/memcpy/func-memcpy.cc (memcpy one byte past a block's end and one byte
   before its start), with malloc_usable_size of a freed block and of an interior pointer,
   to a program of our own. The argument names the case; each case ends by using the heap
   (a malloc, a write, a free) to show that it is still intact. realloc_freed_kept (our own,
   beside scudo's): realloc of a freed block whose slot would fit the new size, its page kept
   in use by another block; then a malloc of the freed block's size: the two blocks must not
   share memory. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void heap_still_works(void) {
  char *p = malloc(100);
  memset(p, 1, 100);
  free(p);
  printf("heap usable\n");
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (!strcmp(which, "plus_one")) {
    char *p = malloc(100);
    free(p + 1);
    free(p);
  } else if (!strcmp(which, "realloc_freed")) {
    char *p = malloc(100);
    free(p);
    p = realloc(p, 200);
    printf("realloc of a freed block: %s\n", p ? "block" : "NULL");
  } else if (!strcmp(which, "realloc_freed_kept")) {
    char *keep = malloc(100);
    char *p = malloc(100);
    free(p);
    char *r = realloc(p, 104);
    char *s = malloc(100);
    if (r)
      memset(r, 'r', 104);
    memset(s, 's', 100);
    printf("realloc of a freed block: %s, its bytes %s\n", r ? "block" : "NULL",
           r && r[0] != 'r' ? "overwritten" : "kept");
    free(s);
    free(keep);
    free(r);
  } else if (!strcmp(which, "usable_freed")) {
    char *p = malloc(100);
    free(p);
    size_t u = malloc_usable_size(p);
    printf("usable size of a freed block read\n");
    char *q = malloc(100);
    printf("usable size of an interior pointer: %s\n",
           malloc_usable_size(q + 16) <= 100 ? "small" : "large");
    free(q);
    (void)u;
  } else if (!strcmp(which, "memcpy_over")) {
    char *src = malloc(64), *dst = malloc(64);
    memset(src, 3, 64);
    memcpy(dst, src, 65);
    printf("copied one past\n");
    free(src);
    free(dst);
  } else if (!strcmp(which, "memcpy_under")) {
    char *src = malloc(64), *dst = malloc(64);
    memset(src, 3, 64);
    memcpy(dst - 1, src, 64);
    printf("copied one before\n");
    free(src);
    free(dst);
  } else {
    return 2;
  }
  heap_still_works();
  return 0;
}
