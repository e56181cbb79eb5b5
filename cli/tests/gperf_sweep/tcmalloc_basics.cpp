// Reduced from gperftools src/tests/tcmalloc_unittest.cc (AllTests, MallocAlignment,
// HugeThreadCache, TestErrno, the calloc and huge-allocation checks, the sanity pass over
// every allocation function with aligned and sized new/delete) and tcmalloc_large_unittest.cc
// (malloc and realloc of sizes near SIZE_MAX refused). Argument "oom": operator new of a
// huge size (bad_alloc, new_handler) and new(nothrow) (Valgrind cannot throw: it stops the
// program there).
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <vector>
#include <algorithm>

template <typename T> static T keep (T p) { asm volatile ("" : : "r"(p) : "memory"); return p; }
static size_t opaque (size_t n) { asm volatile ("" : "+r"(n)); return n; }

static const size_t kMax = ~static_cast<size_t> (0);
static const size_t kMaxSigned = kMax >> 1;
static const size_t kTooBig = kMax - 100000;

struct alignas (64) overaligned { unsigned char data[128]; };

static int calloc_ok (size_t n, size_t s, bool ok)
{
  char *p = static_cast<char *> (calloc (opaque (n), s));
  if (!ok)
    return p == nullptr;
  if (p == nullptr)
    return 0;
  for (size_t i = 0; i < n * s; i++)
    if (p[i] != 0)
      return 0;
  free (p);
  return 1;
}

static int handled;
static void handler () { handled++; throw std::bad_alloc (); }

static int oom ()
{
  int bad = 0;
  void *(*plain) (size_t) = keep (static_cast<void *(*) (size_t)> (&::operator new));
  void *(*array) (size_t) = keep (static_cast<void *(*) (size_t)> (&::operator new[]));
  void *(*nothrow) (size_t, const std::nothrow_t &)
    = keep (static_cast<void *(*) (size_t, const std::nothrow_t &)> (&::operator new));
  for (auto f : { plain, array })
    for (int with_handler = 0; with_handler < 2; with_handler++)
      {
        handled = 0;
        std::set_new_handler (with_handler ? handler : nullptr);
        void *p = f (100000);
        if (f == array)
          ::operator delete[] (p);
        else
          ::operator delete (p);
        try
          {
            f (opaque (kTooBig));
            bad++;
          }
        catch (const std::bad_alloc &)
          {
          }
        bad += handled != with_handler;
      }
  std::set_new_handler (nullptr);
  bad += nothrow (opaque (kTooBig), std::nothrow) != nullptr;
  printf ("oom: %d bad\n", bad);
  return 0;
}

int main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "oom") == 0)
    return oom ();
  int bad = 0;
  void *p1 = malloc (0), *p2 = malloc (0);
  bad += p1 == nullptr || p2 == nullptr || p1 == p2;
  free (p1);
  free (p2);
  std::vector<int> v = { 1, 2, 3, 0 };
  std::stable_sort (v.begin (), v.end ());

  // Every allocation function with its own release.
  void *p = malloc (10);
  bad += malloc_usable_size (p) < 10;
  free (p);
  p = calloc (10, 2);
  p = realloc (p, 30000);
  p = realloc (p, 20);
  free (p);
  bad += posix_memalign (&p, sizeof p, 40) != 0;
  free (p);
  p = memalign (sizeof p * 2, 50);
  free (p);
  p = valloc (60);
  free (p);
  char *c = new char;
  delete c;
  c = new char[100];
  delete[] c;
  c = new (std::nothrow) char;
  delete c;
  c = new (std::nothrow) char[100];
  delete[] c;
  c = static_cast<char *> (::operator new (100));
  ::operator delete (c);
  c = static_cast<char *> (::operator new (100, std::nothrow));
  ::operator delete (c, std::nothrow);
  c = new char;
  ::operator delete (c, sizeof (char));
  c = new char[100];
  ::operator delete[] (c, 100);
  overaligned *o = new overaligned;
  bad += reinterpret_cast<uintptr_t> (o) % 64 != 0;
  delete o;
  o = new overaligned[10];
  bad += reinterpret_cast<uintptr_t> (o) % 64 != 0;
  delete[] o;
  o = new (std::nothrow) overaligned;
  delete o;
  o = new (std::nothrow) overaligned[10];
  delete[] o;
  c = static_cast<char *> (::operator new (100, std::align_val_t (64)));
  bad += reinterpret_cast<uintptr_t> (c) % 64 != 0;
  ::operator delete (c, std::align_val_t (64));
  c = static_cast<char *> (::operator new (100, std::align_val_t (64), std::nothrow));
  ::operator delete (c, std::align_val_t (64), std::nothrow);
  o = new overaligned;
  ::operator delete (o, sizeof (overaligned), std::align_val_t (64));
  o = new overaligned[10];
  ::operator delete[] (o, sizeof (overaligned) * 10, std::align_val_t (64));
  c = strdup ("in memory of James Golick");
  free (c);
  printf ("allocation functions: %d bad\n", bad);

  // Alignment of malloc (2^lg - 1, 2^lg, 2^lg + 1).
  bad = 0;
  for (int lg = 0; lg < 16; lg++)
    for (int d = -1; d <= 1; d++)
      {
        size_t size = (size_t (1) << lg) + d;
        void *ptrs[20];
        for (auto &q : ptrs)
          {
            q = malloc (size);
            uintptr_t a = reinterpret_cast<uintptr_t> (q);
            bad += a % sizeof (void *) != 0 || a % sizeof (double) != 0
                   || (size >= 16 && a % 16 != 0);
          }
        for (auto q : ptrs)
          free (q);
      }
  printf ("alignment: %d bad\n", bad);

  // A thread cache made huge.
  const int kNum = 70000;
  char **array = new char *[kNum];
  for (int i = 0; i < kNum; i++)
    array[i] = new char[10];
  for (int i = 0; i < kNum; i++)
    delete[] array[i];
  delete[] array;

  // calloc, with the products that overflow.
  bad = 0;
  bad += !calloc_ok (0, 0, true) + !calloc_ok (0, 1, true) + !calloc_ok (1, 1, true);
  bad += !calloc_ok (1 << 10, 0, true) + !calloc_ok (0, 1 << 20, true);
  bad += !calloc_ok (1 << 20, 2, true) + !calloc_ok (2, 1 << 20, true);
  bad += !calloc_ok (1000, 1000, true);
  bad += !calloc_ok (kMax, 2, false) + !calloc_ok (2, kMax, false);
  bad += !calloc_ok (kMax, kMax, false) + !calloc_ok (kMaxSigned, 3, false);
  bad += !calloc_ok (3, kMaxSigned, false) + !calloc_ok (kMaxSigned, kMaxSigned, false);
  printf ("calloc: %d bad\n", bad);

  // Huge requests fail, with ENOMEM; realloc of a small block to one fails and keeps it.
  bad = 0;
  for (size_t i = 0; i < 70000; i += 1 + i % 19)
    bad += malloc (opaque (kMax - i)) != nullptr;
  for (size_t i = 1; i < 64; i++)
    {
      void *small = malloc (1);
      bad += realloc (small, opaque (0 - i)) != nullptr;
      bad += realloc (small, opaque (0 - (1 << 20) - i)) != nullptr;
      free (small);
    }
  errno = 0;
  bad += malloc (opaque (kTooBig)) != nullptr || errno != ENOMEM;
  errno = 0;
  bad += memalign (128, opaque (kTooBig)) != nullptr || errno != ENOMEM;
  bad += posix_memalign (&p, 32, opaque (kTooBig)) != ENOMEM;
  printf ("huge: %d bad\n", bad);

  // A large block.
  p = malloc (100 << 20);
  bad = p == nullptr;
  memset (p, 1, 100 << 20);
  free (p);
  printf ("large: %d bad\n", bad);
  return 0;
}
