/* glibc malloc/tst-free-errno.c, reduced: free keeps errno, for NULL, for small and large
   (mmapped) blocks, and when the process is at its limit of mappings (an munmap in free
   could fail with ENOMEM). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int __attribute__((weak)) get_errno(void) { return errno; }

int main(void) {
  int kept = 0, tried = 0;
  errno = 1789;
  free(NULL);
  kept += get_errno() == 1789, tried++;
  void *volatile small[4];
  for (int i = 0; i < 4; i++)
    small[i] = malloc(24 + i * 1000);
  for (int i = 0; i < 4; i++) {
    errno = 1789;
    free(small[i]);
    kept += get_errno() == 1789, tried++;
  }
  void *volatile ptrs[2];
  for (int i = 0; i < 2; i++)
    ptrs[i] = malloc(5318153);
  for (int i = 0; i < 2; i++) {
    errno = 1789;
    free(ptrs[i]);
    kept += get_errno() == 1789, tried++;
  }
  size_t big = 0x3000000;
  void *volatile b1 = malloc(big - 100);
  void *volatile b2 = malloc(big - 100);
  void *volatile b3 = malloc(big - 100);
  char name[] = "/tmp/gpa-free-errno-XXXXXX";
  int fd = mkstemp(name);
  unlink(name);
  ftruncate(fd, 4096);
  int maps = 0;
  void **mapped = malloc(65536 * sizeof(void *));
  for (int i = 0; i < 65536; i++) {
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
      break;
    mapped[maps++] = m;
  }
  errno = 1789;
  free(b2);
  kept += get_errno() == 1789, tried++;
  for (int i = 0; i < maps; i++)
    munmap(mapped[i], 4096);
  free(mapped);
  errno = 1789;
  free(b1);
  free(b3);
  kept += get_errno() == 1789, tried++;
  printf("free kept errno: %d of %d\n", kept, tried);
  return 0;
}
