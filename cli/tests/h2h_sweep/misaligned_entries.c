/* Beside misaligned_stack.c (how2heap's glibc_2.36/house_of_lore.c, whose ending runs a
   function with the stack pointer 8 bytes off the 16-byte alignment the C ABI promises):
   the allocator's other ways in on such a stack (realloc of null, to 0 bytes and of a live
   block, reallocarray, the aligned allocators, a large malloc); with "interior" an invalid
   free of a pointer inside a block (glibc aborts: "free(): invalid pointer"), with "fishy"
   calloc and posix_memalign of negative sizes. The program prints what it got and exits
   0; one block of 24 bytes stays unfreed. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls fn(a, b, c) with rsp = 8 (mod 16) at the call, so the callee starts misaligned. */
static long
misaligned_call (void *fn, long a, long b, long c)
{
  long ret;
  __asm__ volatile ("mov %%rsp, %%r12\n\t"
                    "and $-16, %%rsp\n\t"
                    "sub $8, %%rsp\n\t"
                    "call *%%rax\n\t"
                    "mov %%r12, %%rsp"
                    : "=a"(ret), "+D"(a), "+S"(b), "+d"(c)
                    : "a"(fn)
                    : "rcx", "r8", "r9", "r10", "r11", "r12", "memory", "cc",
                      "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                      "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                      "xmm13", "xmm14", "xmm15");
  return ret;
}

int
main (int argc, char **argv)
{
  char *a = (char *) misaligned_call ((void *) realloc, 0, 48, 0);
  strcpy (a, "realloc of null");
  char *b = (char *) misaligned_call ((void *) reallocarray, 0, 8, 16);
  memset (b, 7, 128);
  b = (char *) misaligned_call ((void *) reallocarray, (long) b, 16, 16);
  char *c = (char *) misaligned_call ((void *) aligned_alloc, 64, 128, 0);
  char *d = (char *) misaligned_call ((void *) memalign, 32, 40, 0);
  char *e = (char *) misaligned_call ((void *) valloc, 100, 0, 0);
  char *f = (char *) misaligned_call ((void *) malloc, 100000, 0, 0);
  f[99999] = 1;
  printf ("%s %d %d %d %d %d\n", a, b[127], ((unsigned long) c & 63) == 0,
          ((unsigned long) d & 31) == 0, ((unsigned long) e & 4095) == 0, f[99999]);
  long gone = misaligned_call ((void *) realloc, (long) a, 0, 0);
  if (argc > 1 && argv[1][0] == 'i')
    misaligned_call ((void *) free, (long) (d + 8), 0, 0); /* invalid free */
  misaligned_call ((void *) free, (long) b, 0, 0);
  misaligned_call ((void *) free, (long) c, 0, 0);
  misaligned_call ((void *) free, (long) d, 0, 0);
  misaligned_call ((void *) free, (long) e, 0, 0);
  misaligned_call ((void *) free, (long) f, 0, 0);
  char *g = (char *) misaligned_call ((void *) realloc, 0, 24, 0); /* leaked */
  g[0] = (char) gone;
  g = NULL;
  if (argc > 1 && argv[1][0] == 'f')
    {
      void *h = NULL;
      long fishy = misaligned_call ((void *) calloc, -1, 1, 0);
      long rc = misaligned_call ((void *) posix_memalign, (long) &h, 64, -1);
      printf ("%d %ld\n", fishy == 0, rc); /* fishy sizes: null, ENOMEM */
    }
  puts ("done");
  return 0;
}
