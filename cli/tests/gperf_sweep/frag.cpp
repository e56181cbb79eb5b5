// Reduced from gperftools src/tests/frag_unittest.cc and large_heap_fragmentation_unittest.cc:
// 96 MiB in blocks just above tcmalloc's largest size class (256 KiB + 8 KiB), every other
// one freed, then blocks of growing sizes allocated into the holes and all freed.
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

int main ()
{
  const int kSize = (256 << 10) + (8 << 10);
  const int kCount = (96 << 20) / kSize;
  std::vector<std::unique_ptr<char[]>> saved;
  for (int i = 0; i < kCount; i++)
    {
      saved.emplace_back (new char[kSize]);
      memset (saved.back ().get (), i, 64);
    }
  for (size_t i = 0; i < saved.size (); i += 2)
    saved[i].reset ();
  int bad = 0;
  for (size_t i = 1; i < saved.size (); i += 2)
    bad += saved[i][63] != char (i);
  std::vector<std::unique_ptr<char[]>> more;
  for (int size = 4096; size <= (1 << 20); size += size / 2)
    {
      more.emplace_back (new char[size]);
      memset (more.back ().get (), 7, size);
    }
  printf ("%d blocks of %d bytes, half freed, %zu more: %d bad\n", kCount, kSize,
          more.size (), bad);
  return 0;
}
