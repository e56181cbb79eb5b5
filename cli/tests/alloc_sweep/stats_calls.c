/* Reduces LLVM compiler-rt lib/scudo/standalone/tests/wrappers_c_test.cpp (MallOpt,
   MallInfo, MallInfo2, MallocInfo) to a program of our own, by glibc's rules: mallopt
   answers 1 to an unknown parameter (glibc 2.36; scudo answers 0) and leaves errno alone; mallinfo and mallinfo2 count a
   new 1 KiB (2 KiB) block in uordblks; malloc_info (0, stream) returns 0, leaves errno alone and
   writes an XML document, malloc_info (1, stream) returns EINVAL (errno left alone); malloc_trim and
   malloc_stats run and leave errno alone. Prints one line per property. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  errno = 0;
  int r = mallopt(-1000, 1);
  printf("mallopt(-1000,1): %d errno %d\n", r, errno);
  errno = 0;
  r = mallopt(M_MMAP_THRESHOLD, 1 << 20);
  printf("mallopt(M_MMAP_THRESHOLD): %d errno %d\n", r, errno);

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo mi = mallinfo();
  int before = mi.uordblks;
  void *volatile p = malloc(1024);
  mi = mallinfo();
  printf("mallinfo counts the block: %d\n", mi.uordblks >= before + 1024);
  free(p);

  struct mallinfo2 mi2 = mallinfo2();
  size_t before2 = mi2.uordblks;
  p = malloc(2048);
  mi2 = mallinfo2();
  printf("mallinfo2 counts the block: %d\n", mi2.uordblks >= before2 + 2048);
  free(p);

  void *volatile p1 = malloc(1234), *volatile p2 = malloc(4321);
  static char buffer[1 << 16];
  FILE *f = fmemopen(buffer, sizeof buffer, "w+");
  errno = 0;
  r = malloc_info(0, f);
  int e = errno;
  fclose(f);
  printf("malloc_info(0): %d errno %d document %d\n", r, e,
         strncmp(buffer, "<malloc version=\"", 17) == 0 && strstr(buffer, "</malloc>") != NULL);
  f = fmemopen(buffer, sizeof buffer, "w+");
  errno = 0;
  r = malloc_info(1, f);
  e = errno;
  printf("malloc_info(1): %s errno %d\n", r == EINVAL ? "EINVAL" : r == 0 ? "0" : "other", e);
  fclose(f);
  free(p1);
  free(p2);

  errno = 0;
  r = malloc_trim(0);
  printf("malloc_trim(0): errno %d\n", errno);
  (void)r;
  FILE *saved = stderr;
  stderr = fopen("/dev/null", "w");
  errno = 0;
  malloc_stats();
  e = errno;
  fclose(stderr);
  stderr = saved;
  printf("malloc_stats: errno %d\n", e);
  return 0;
}
