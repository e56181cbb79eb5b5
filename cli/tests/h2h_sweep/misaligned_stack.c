/* Beside how2heap's glibc_2.36/house_of_lore.c, whose last step overwrites main's return
   address so that main "returns" into a function that calls exit: that function runs with
   the stack pointer 8 bytes off the 16-byte alignment the C ABI promises at every call.
   Ours: malloc, calloc, realloc, posix_memalign, free (a double free among them) and exit
   called on such a stack, as hand-written assembly may. glibc's allocator and exit work
   there (the double free aside); the program prints what it got and exits 0. The argument
   "double" adds the double free (glibc aborts). */
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

static void
finish (void)
{
  puts ("exit on a misaligned stack");
  fflush (stdout);
  misaligned_call ((void *) exit, 0, 0, 0);
}

int
main (int argc, char **argv)
{
  char *a = (char *) misaligned_call ((void *) malloc, 40, 0, 0);
  char *b = (char *) misaligned_call ((void *) calloc, 4, 10, 0);
  strcpy (a, "malloc");
  a = (char *) misaligned_call ((void *) realloc, (long) a, 4000, 0);
  void *c = NULL;
  long rc = misaligned_call ((void *) posix_memalign, (long) &c, 64, 100);
  printf ("%s %d %ld %d\n", a, b[39], rc, ((unsigned long) c & 63) == 0);
  misaligned_call ((void *) free, (long) a, 0, 0);
  misaligned_call ((void *) free, (long) c, 0, 0);
  misaligned_call ((void *) free, (long) b, 0, 0);
  if (argc > 1)
    misaligned_call ((void *) free, (long) a, 0, 0);  /* double free */
  char *d = malloc (24);                              /* leaked: definitely lost */
  d = NULL;
  finish ();
  return 1;
}
