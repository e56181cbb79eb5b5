/* Beside misaligned_stack.c (how2heap's glibc_2.36/house_of_lore.c, whose ending runs a
   function with the stack pointer 8 bytes off the 16-byte alignment the C ABI promises):
   C++'s operator new and operator delete called on such a stack, in their plain, array,
   nothrow, sized and aligned forms. With "mismatch", a block of operator new[] is released
   by the scalar operator delete (glibc's allocator takes it silently). The program prints
   what it got and exits 0; one block of 24 bytes of operator new stays unfreed. */
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>

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

typedef void *(*New) (std::size_t);
typedef void *(*NewAligned) (std::size_t, std::align_val_t);
typedef void *(*NewNothrow) (std::size_t, const std::nothrow_t &);
typedef void (*Delete) (void *);
typedef void (*DeleteSized) (void *, std::size_t);
typedef void (*DeleteAligned) (void *, std::align_val_t);

int
main (int argc, char **argv)
{
  char *a = (char *) misaligned_call ((void *) (New) ::operator new, 40, 0, 0);
  char *b = (char *) misaligned_call ((void *) (New) ::operator new[], 100, 0, 0);
  char *c = (char *) misaligned_call ((void *) (NewAligned) ::operator new, 96, 64, 0);
  char *d = (char *) misaligned_call ((void *) (NewNothrow) ::operator new,
                                      32, (long) &std::nothrow, 0);
  char *e = (char *) misaligned_call ((void *) (New) ::operator new, 100000, 0, 0);
  strcpy (a, "operator new");
  memset (b, 3, 100);
  e[99999] = 1;
  printf ("%s %d %d %d %d\n", a, b[99], ((unsigned long) c & 63) == 0, d != NULL, e[99999]);
  misaligned_call ((void *) (Delete) ::operator delete, (long) a, 0, 0);
  if (argc > 1)
    misaligned_call ((void *) (Delete) ::operator delete, (long) b, 0, 0); /* mismatched */
  else
    misaligned_call ((void *) (Delete) ::operator delete[], (long) b, 0, 0);
  misaligned_call ((void *) (DeleteAligned) ::operator delete, (long) c, 64, 0);
  misaligned_call ((void *) (DeleteSized) ::operator delete, (long) d, 32, 0);
  misaligned_call ((void *) (Delete) ::operator delete, (long) e, 0, 0);
  char *f = (char *) misaligned_call ((void *) (New) ::operator new, 24, 0, 0); /* leaked */
  f[0] = 1;
  f = NULL;
  puts ("done");
  return 0;
}
