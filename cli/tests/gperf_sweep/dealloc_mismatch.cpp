// Reduced from gperftools src/tests/debugallocation_test.cc (DeallocMismatch): every
// allocation family released by the wrong deallocator, each on a block of its own, then the
// right pairs (delete and delete[] with std::nothrow included). glibc frees them all alike.
#include <cstdio>
#include <cstdlib>
#include <new>

template <typename T> static T *keep (T *p) { asm volatile ("" : : "r"(p) : "memory"); return p; }

int main ()
{
  int *a = keep (static_cast<int *> (malloc (sizeof (int))));
  delete a;                                   // malloc -> delete
  int *b = keep (static_cast<int *> (malloc (sizeof (int))));
  delete[] b;                                 // malloc -> delete[]
  int *c = keep (new int);
  free (c);                                   // new -> free
  int *d = keep (new int);
  delete[] d;                                 // new -> delete[]
  int *e = keep (new int[1]);
  free (e);                                   // new[] -> free
  int *f = keep (new int[1]);
  delete f;                                   // new[] -> delete
  int *g = keep (new (std::nothrow) int);
  free (g);                                   // new(nothrow) -> free
  int *h = keep (new (std::nothrow) int[1]);
  delete h;                                   // new(nothrow)[] -> delete

  // The pairs that match.
  int *x = keep (static_cast<int *> (malloc (sizeof (int))));
  free (x);
  x = keep (new int);
  ::operator delete (x, std::nothrow);
  x = keep (new int[1]);
  ::operator delete[] (x, std::nothrow);
  x = keep (new (std::nothrow) int);
  delete x;
  x = keep (new (std::nothrow) int[1]);
  delete[] x;
  puts ("done");
  return 0;
}
