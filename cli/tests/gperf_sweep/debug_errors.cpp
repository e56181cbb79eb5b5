// Reduced from gperftools src/tests/debugallocation_test.cc (DoubleFree, StompBefore,
// StompAfter, FreeQueueTest, DanglingPointerWriteTest, DanglingWriteAtExitTest,
// StackTraceWithDanglingWriteAtExitTest). Argument "double": a second delete of a block;
// "before": a word written just before a block (both abort glibc); none: the others.
#include <cstdio>
#include <cstring>
#include <new>

template <typename T> static T *keep (T *p) { asm volatile ("" : : "r"(p) : "memory"); return p; }

__attribute__ ((noinline)) static void release_marker (int *p)
{
  ::operator delete (p);
  keep (p);
}

int main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "double") == 0)
    {
      int *p = keep (new int);
      delete p;
      delete p;                               // double delete
      puts ("double");
      return 0;
    }
  if (argc > 1 && strcmp (argv[1], "before") == 0)
    {
      int *p = keep (new int);
      p[-1] = 5;                              // the word before the block
      delete p;
      puts ("before");
      return 0;
    }
  int *after = keep (new int);
  after[1] = 5;                               // the word after a 4-byte block
  delete after;

  int *x = keep (new int);
  delete x;
  int seen = *x;                              // read of a freed block
  *x = 1;                                     // dangling write
  char *s = keep (new char[1 << 20]);         // pushes recently freed blocks along
  delete[] s;

  int *y = keep (new int);
  release_marker (y);
  *y = seen + 2;                              // dangling write, freed in release_marker
  puts ("done");
  return 0;
}
