/* Reduces microsoft/mimalloc test/test-api.c (malloc, calloc, posix_memalign, aligned and
   realloc sections), microsoft/snmalloc src/test/func/malloc/malloc.cc (errno and return
   value after every C entry point, successful or failing) and LLVM compiler-rt
   lib/scudo/standalone/tests/wrappers_c_test.cpp (Malloc, Calloc, Memalign, AlignedAlloc,
   Realloc, Reallocarray, OtherAlloc), and jemalloc test/integration/{malloc,overflow,
   aligned_alloc,posix_memalign}.c, to one transcript: one line per call with its result
   (NULL or a block), the errno it left (errno is set to a marker before each call: a
   successful call must leave it alone), whether the block has the alignment asked, whether
   its usable size covers the request, and whether posix_memalign left its pointer alone on
   failure. glibc 2.36 natively is the oracle for every line. With an argument the calls
   Valgrind cannot run are left out (alignments of 2^23 and more, pvalloc, which it stops
   the program at): Valgrind 3.19 dies of an assertion in
   VG_(arena_memalign) on posix_memalign (&p, 2^63, 8), and of its arena's exhaustion at
   aligned_alloc (2^23, 0). Our own program. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARK 4242

static const char *err_name(int e) {
  switch (e) {
  case MARK: return "kept";
  case 0: return "0";
  case ENOMEM: return "ENOMEM";
  case EINVAL: return "EINVAL";
  case EOVERFLOW: return "EOVERFLOW";
  default: return "other";
  }
}

/* Prints one call's outcome and frees the block. */
static void show(const char *what, void *p, size_t size, size_t align) {
  int e = errno;
  if (p == NULL) {
    printf("%s: NULL errno %s\n", what, err_name(e));
    return;
  }
  int aligned = align == 0 || (uintptr_t)p % align == 0;
  int covers = malloc_usable_size(p) >= size;
  printf("%s: block errno %s aligned %d covers %d\n", what, err_name(e), aligned, covers);
  free(p);
}

static void *volatile sink;

static void pm(const char *what, size_t align, size_t size) {
  void *p = &sink;
  errno = MARK;
  int r = posix_memalign(&p, align, size);
  int e = errno;
  if (r != 0) {
    printf("%s: returns %s errno %s pointer %s\n", what, err_name(r), err_name(e),
           p == &sink ? "untouched" : "changed");
    return;
  }
  printf("%s: returns 0 errno %s aligned %d covers %d\n", what, err_name(e),
         (uintptr_t)p % align == 0, malloc_usable_size(p) >= size);
  free(p);
}

int main(int argc, char **argv) {
  (void)argv;
  int full = argc < 2;
  char what[96];
  const size_t too_big = SIZE_MAX / 2;
  size_t opaque = (size_t)(uintptr_t)&show; /* a number the compiler cannot fold */

  /* malloc */
  errno = MARK; show("malloc(0)", malloc(0), 0, 16);
  errno = MARK; show("malloc(PTRDIFF_MAX+1)", malloc((size_t)PTRDIFF_MAX + 1), 0, 0);
  errno = MARK; show("malloc(SIZE_MAX/2)", malloc(too_big), 0, 0);
  errno = MARK; show("malloc(SIZE_MAX)", malloc(SIZE_MAX), 0, 0);
  errno = MARK; show("malloc(67108872)", malloc(67108872), 67108872, 16);
  for (int bit = 0; bit < 24; bit++) {
    size_t size = (size_t)1 << bit;
    snprintf(what, sizeof what, "malloc(2^%d)", bit);
    errno = MARK; show(what, malloc(size), size, 16);
    snprintf(what, sizeof what, "malloc(2^%d+1)", bit);
    errno = MARK; show(what, malloc(size + 1), size + 1, 16);
  }
  errno = MARK; free(NULL); printf("free(NULL): errno %s\n", err_name(errno));
  errno = MARK;
  printf("malloc_usable_size(NULL): %zu errno %s\n", malloc_usable_size(NULL), err_name(errno));

  /* calloc */
  errno = MARK; show("calloc(0,0)", calloc(0, 0), 0, 16);
  errno = MARK; show("calloc(0,1000)", calloc(0, 1000), 0, 16);
  errno = MARK; show("calloc(1000,0)", calloc(1000, 0), 0, 16);
  errno = MARK; show("calloc(opaque,SIZE_MAX/1000)", calloc(opaque, SIZE_MAX / 1000), 0, 0);
  errno = MARK; show("calloc(1,SIZE_MAX/2)", calloc(1, too_big), 0, 0);
  errno = MARK; show("calloc(SIZE_MAX,1)", calloc(SIZE_MAX, 1), 0, 0);
  errno = MARK; show("calloc(LONG_MAX+1,2)", calloc((size_t)LONG_MAX + 1, 2), 0, 0);
  errno = MARK; show("calloc(SIZE_MAX,SIZE_MAX)", calloc(SIZE_MAX, SIZE_MAX), 0, 0);
  errno = MARK; show("calloc(2^32,2^32)", calloc((size_t)1 << 32, (size_t)1 << 32), 0, 0);
  for (size_t n = 1; n <= 625; n *= 5) {
    for (size_t size = 16; size <= 4096; size *= 4) {
      errno = MARK;
      unsigned char *p = calloc(n, size);
      int e = errno;
      size_t nonzero = 0;
      for (size_t i = 0; p && i < n * size; i++)
        nonzero += p[i] != 0;
      printf("calloc(%zu,%zu): %s errno %s nonzero %zu\n", n, size, p ? "block" : "NULL",
             err_name(e), nonzero);
      free(p);
    }
  }

  /* posix_memalign */
  pm("posix_memalign(0,0)", 0, 0);
  pm("posix_memalign(0,SIZE_MAX/2)", 0, too_big);
  pm("posix_memalign(4,4096)", 4, 4096);
  pm("posix_memalign(3,32)", 3, 32);
  pm("posix_memalign(24,32)", 24, 32);
  pm("posix_memalign(8,0)", 8, 0);
  pm("posix_memalign(8,32)", 8, 32);
  pm("posix_memalign(8,SIZE_MAX)", 8, SIZE_MAX);
  pm("posix_memalign(4096,SIZE_MAX)", 4096, SIZE_MAX);
  if (full)
    pm("posix_memalign(2^63,8)", (size_t)1 << 63, 8);
  for (size_t align = sizeof(void *); align < 16384 * 8; align <<= 1) {
    snprintf(what, sizeof what, "posix_memalign(%zu,0)", align);
    pm(what, align, 0);
    snprintf(what, sizeof what, "posix_memalign(%zu,SIZE_MAX/2)", align);
    pm(what, align, too_big);
    snprintf(what, sizeof what, "posix_memalign(%zu+1,0)", align);
    pm(what, align + 1, 0);
    snprintf(what, sizeof what, "posix_memalign(%zu,100)", align);
    pm(what, align, 100);
    /* The size rounded up to the alignment wraps to 0 (snmalloc's "overflow with
       alignment taking it round to 0"). */
    snprintf(what, sizeof what, "memalign(%zu,1-%zu)", align, align);
    errno = MARK; show(what, memalign(align, 1 - align), 0, 0);
  }

  /* aligned_alloc and memalign, alignments 1 to 2^27 (mimalloc malloc-aligned9: sizes 8,
     512 and 1 MiB at every alignment; malloc-aligned10: 43 + align). */
  size_t sizes[] = {8, 512, 1024 * 1024, 0};
  for (int bit = 0; bit < (full ? 28 : 23); bit++) {
    size_t align = (size_t)1 << bit;
    for (int j = 0; j < 4; j++) {
      snprintf(what, sizeof what, "aligned_alloc(2^%d,%zu)", bit, sizes[j]);
      errno = MARK; show(what, aligned_alloc(align, sizes[j]), sizes[j], align);
    }
    snprintf(what, sizeof what, "memalign(2^%d,43+align)", bit);
    errno = MARK; show(what, memalign(align, 43 + align), 43 + align, align);
  }
  errno = MARK; show("aligned_alloc(4096,100)", aligned_alloc(4096, 100), 100, 4096);
  errno = MARK; show("aligned_alloc(4096,16384)", aligned_alloc(4096, 16384), 16384, 4096);
  errno = MARK; show("aligned_alloc(0,8)", aligned_alloc(0, 8), 8, 16);
  if (full)
    errno = MARK, show("aligned_alloc(2^63,8)", aligned_alloc((size_t)1 << 63, 8), 0, 0);
  if (full)
    errno = MARK, show("aligned_alloc(SIZE_MAX,8)", aligned_alloc(SIZE_MAX, 8), 0, 0);
  errno = MARK; show("aligned_alloc(64,SIZE_MAX)", aligned_alloc(64, SIZE_MAX), 0, 0);
  errno = MARK; show("memalign(16,8)", memalign(16, 8), 8, 16);
  errno = MARK; show("memalign(4096,SIZE_MAX)", memalign(4096, SIZE_MAX), 0, 0);
  if (full)
    errno = MARK, show("memalign(2^63,8)", memalign((size_t)1 << 63, 8), 0, 0);
  if (full)
    errno = MARK, show("memalign(2^63+1,8)", memalign(((size_t)1 << 63) + 1, 8), 0, 0);
  errno = MARK; show("memalign(24,8)", memalign(24, 8), 8, 32);
  for (size_t bit = 2; bit <= 18; bit++) {
    snprintf(what, sizeof what, "memalign(2^%zu,100)", bit);
    errno = MARK; show(what, memalign((size_t)1 << bit, 100), 100, (size_t)1 << bit);
  }

  /* valloc and pvalloc */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  errno = MARK; show("valloc(0)", valloc(0), 0, page);
  errno = MARK; show("valloc(100)", valloc(100), 100, page);
  errno = MARK; show("valloc(page)", valloc(page), page, page);
  errno = MARK; show("valloc(SIZE_MAX)", valloc(SIZE_MAX), 0, 0);
  if (full) {
  errno = MARK; show("pvalloc(0)", pvalloc(0), 0, page);
  errno = MARK; show("pvalloc(100)", pvalloc(100), page, page);
  errno = MARK; show("pvalloc(page+1)", pvalloc(page + 1), 2 * page, page);
  errno = MARK; show("pvalloc(SIZE_MAX)", pvalloc(SIZE_MAX), 0, 0);
  errno = MARK; show("pvalloc(SIZE_MAX-page)", pvalloc(SIZE_MAX - page), 0, 0);
  }

  /* realloc */
  errno = MARK; show("realloc(NULL,0)", realloc(NULL, 0), 0, 16);
  errno = MARK; show("realloc(NULL,4)", realloc(NULL, 4), 4, 16);
  errno = MARK; show("realloc(NULL,SIZE_MAX)", realloc(NULL, SIZE_MAX), 0, 0);
  {
    void *p = malloc(100);
    errno = MARK;
    void *q = realloc(p, 0);
    printf("realloc(p,0): %s errno %s\n", q ? "block" : "NULL", err_name(errno));
    free(q);
  }
  for (int bit = 0; bit < 24; bit += 3) {
    for (int bit2 = 0; bit2 < 24; bit2 += 3) {
      size_t from = ((size_t)1 << bit) + 1, to = (size_t)1 << bit2;
      unsigned char *p = malloc(from);
      memset(p, 0x42, from);
      errno = MARK;
      unsigned char *q = realloc(p, to);
      int e = errno;
      size_t kept = 0, keep = from < to ? from : to;
      for (size_t i = 0; q && i < keep; i++)
        kept += q[i] == 0x42;
      snprintf(what, sizeof what, "realloc(2^%d+1 -> 2^%d)", bit, bit2);
      printf("%s: %s errno %s kept %d\n", what, q ? "block" : "NULL", err_name(e), kept == keep);
      free(q);
    }
    unsigned char *p = malloc((size_t)1 << bit);
    errno = MARK;
    void *q = realloc(p, too_big);
    printf("realloc(2^%d -> SIZE_MAX/2): %s errno %s\n", bit, q ? "block" : "NULL",
           err_name(errno));
    errno = MARK;
    q = realloc(p, SIZE_MAX);
    printf("realloc(2^%d -> SIZE_MAX): %s errno %s\n", bit, q ? "block" : "NULL",
           err_name(errno));
    free(p);
  }
  {
    void *p = malloc(64);
    errno = MARK;
    show("realloc(64 -> 4 MiB)", realloc(p, 4194304), 4194304, 16);
  }

  /* reallocarray */
  errno = MARK; show("reallocarray(NULL,1,0)", reallocarray(NULL, 1, 0), 0, 16);
  errno = MARK; show("reallocarray(NULL,0,16)", reallocarray(NULL, 0, 16), 0, 16);
  {
    unsigned char *p = malloc(100);
    memset(p, 0x42, 100);
    errno = MARK;
    unsigned char *q = reallocarray(p, 2, 100);
    int e = errno, kept = 1;
    for (int i = 0; i < 100; i++)
      kept &= q[i] == 0x42;
    printf("reallocarray(p,2,100): %s errno %s kept %d\n", q ? "block" : "NULL", err_name(e),
           kept);
    errno = MARK;
    void *r = reallocarray(q, SIZE_MAX - 1, SIZE_MAX - 1);
    printf("reallocarray(q,SIZE_MAX-1,SIZE_MAX-1): %s errno %s\n", r ? "block" : "NULL",
           err_name(errno));
    errno = MARK;
    r = reallocarray(q, (size_t)1 << 32, (size_t)1 << 32);
    printf("reallocarray(q,2^32,2^32): %s errno %s\n", r ? "block" : "NULL", err_name(errno));
    errno = MARK;
    r = reallocarray(q, 1, 0);
    printf("reallocarray(q,1,0): %s errno %s\n", r ? "block" : "NULL", err_name(errno));
    free(r);
  }

  /* Functions of libc that return blocks for the program to free. */
  errno = MARK;
  char *s = realpath(".", NULL);
  printf("realpath(.): %s errno %s\n", s ? "block" : "NULL", err_name(errno));
  free(s);
  errno = MARK;
  s = strdup("mimalloc");
  printf("strdup: %s errno %s\n", s, err_name(errno));
  free(s);
  errno = MARK;
  s = strndup("mimalloc", 2);
  printf("strndup: %s errno %s\n", s, err_name(errno));
  free(s);
  errno = MARK;
  s = getcwd(NULL, 0);
  printf("getcwd(NULL,0): %s errno %s\n", s ? "block" : "NULL", err_name(errno));
  free(s);
  return 0;
}
