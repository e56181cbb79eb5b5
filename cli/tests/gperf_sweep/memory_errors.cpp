// Reduced from google/tcmalloc tcmalloc/testing/memory_errors_test.cc (the GWP-ASan
// checks, each done once on an ordinary block): a read one byte before and one past a
// 2 KiB new[] block, a read of a freed 4 KiB block, a write one past a 4095-byte block (seen
// at its delete[]), a 4095-byte block grown by realloc to 4096 and written at its last byte
// (no error), and reads of freed blocks at offsets around them (-42 into 3999 bytes, 1221
// into 6543, 8484 into 8192).
#include <cstdio>
#include <cstdlib>
#include <new>

template <typename T> static T keep (T p) { asm volatile ("" : : "r"(p) : "memory"); return p; }
static volatile char sink;

static void freed_read (size_t length, long offset)
{
  char *p = keep (static_cast<char *> (::operator new (length)));
  ::operator delete (p);
  sink = p[offset];
}

int main ()
{
  char *buf = keep (new char[2048]);
  sink = buf[-1];                             // underflow read
  sink = buf[2048];                           // overflow read
  delete[] buf;

  char *freed = keep (new char[4096]);
  delete[] freed;
  sink = freed[0];                            // use after free

  char *over = keep (new char[4095]);
  over[4095] = 0;                             // overflow write
  delete[] over;

  char *grown = keep (static_cast<char *> (malloc (4095)));
  grown = static_cast<char *> (realloc (grown, 4096));
  grown[4095] = 0;                            // in bounds
  free (grown);

  freed_read (3999, -42);
  freed_read (6543, 1221);
  freed_read (8192, 8484);
  puts ("done");
  return 0;
}
