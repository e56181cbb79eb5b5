// Reduced from gperftools src/tests/tcmalloc_unittest.cc (ManyThreads' TesterThread): 8
// threads allocate (malloc or posix_memalign), check, update and free blocks of skewed sizes
// up to 64 KiB and pass some to each other, to be checked and freed by their new owner.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {
struct Object { unsigned char *ptr; int size; int generation; };

const int kThreads = 8;
const int kOps = 4000;

struct Tester
{
  std::mutex lock;
  std::vector<Object> passed;
  std::vector<Object> heap;
  unsigned seed;
  long heap_size = 0;
  int bad = 0;

  int next (int n) { seed = seed * 1103515245 + 12345; return n ? (seed >> 8) % n : 0; }
  unsigned char expected (const Object &o) { return (uintptr_t (o.ptr) >> 4) + o.generation; }
  void fill (const Object &o) { memset (o.ptr, expected (o), o.size); }
  void check (const Object &o)
  {
    for (int i = 0; i < o.size; i++)
      bad += o.ptr[i] != expected (o);
  }
  void *alloc (int size)
  {
    if (next (10) < 3)
      {
        size_t align = size_t (1) << next (14);
        if (align >= sizeof (void *) && (size < 8 || align < 6u * size))
          {
            void *p = nullptr;
            return posix_memalign (&p, align, size) == 0 ? p : nullptr;
          }
      }
    return malloc (size);
  }
  void free_one (size_t index)
  {
    Object o = heap[index];
    check (o);
    free (o.ptr);
    heap_size -= o.size;
    heap[index] = heap.back ();
    heap.pop_back ();
  }
  void run (std::vector<Tester> &all)
  {
    for (int op = 0; op < kOps; op++)
      {
        {
          std::lock_guard<std::mutex> g (lock);
          for (auto &o : passed)
            {
              check (o);
              heap.push_back (o);
              heap_size += o.size;
            }
          passed.clear ();
        }
        int kind = next (111);
        if (kind < 50)
          {
            Object o;
            o.size = next (1 << next (17));
            o.ptr = static_cast<unsigned char *> (alloc (o.size));
            o.generation = 0;
            fill (o);
            heap.push_back (o);
            heap_size += o.size;
          }
        else if (kind < 100 && !heap.empty ())
          free_one (next (heap.size ()));
        else if (kind < 110 && !heap.empty ())
          {
            Object &o = heap[next (heap.size ())];
            check (o);
            o.generation++;
            fill (o);
          }
        else if (!heap.empty ())
          {
            size_t index = next (heap.size ());
            Object o = heap[index];
            Tester &to = all[next (kThreads)];
            if (to.lock.try_lock ())
              {
                to.passed.push_back (o);
                to.lock.unlock ();
                heap_size -= o.size;
                heap[index] = heap.back ();
                heap.pop_back ();
              }
          }
        while (heap_size > 4 << 20)
          free_one (next (heap.size ()));
      }
  }
};
}

int main ()
{
  std::vector<Tester> all (kThreads);
  for (int i = 0; i < kThreads; i++)
    all[i].seed = i + 1;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++)
    threads.emplace_back ([&all, i] { all[i].run (all); });
  for (auto &t : threads)
    t.join ();
  int bad = 0;
  for (auto &t : all)
    {
      for (auto &o : t.passed)
        t.heap.push_back (o);
      while (!t.heap.empty ())
        t.free_one (0);
      bad += t.bad;
    }
  printf ("many threads: %d bad bytes\n", bad);
  return 0;
}
