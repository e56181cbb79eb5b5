// Reduced from gperftools src/tests/thread_dealloc_unittest.cc (with TEST_HARD_THREAD_DEALLOC)
// and markidle_unittest.cc: 200 short threads, one after another, each allocating and
// freeing 256 blocks of 1 KiB and operator new blocks of 8 bytes to 64 KiB, and leaving a
// pthread key's value whose destructor allocates and frees at the thread's exit; 32 keys
// created (and never deleted) in a constructor that runs before the others.
#include <pthread.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>

static pthread_key_t early_key;
static int destructor_runs;

__attribute__ ((constructor (101))) static void early ()
{
  pthread_key_t unused;
  for (int i = 0; i < 32; i++)
    if (pthread_key_create (&unused, nullptr) != 0)
      abort ();
  if (pthread_key_create (&early_key, [] (void *arg) {
        ::operator delete (::operator new (reinterpret_cast<uintptr_t> (arg)));
        __atomic_add_fetch (&destructor_runs, 1, __ATOMIC_RELAXED);
      }) != 0)
    abort ();
}

static void work ()
{
  pthread_setspecific (early_key, reinterpret_cast<void *> (uintptr_t (32)));
  std::unique_ptr<void *[]> objects (new void *[256]);
  for (int i = 0; i < 256; i++)
    objects[i] = malloc (1024);
  for (int i = 0; i < 256; i++)
    free (objects[i]);
  void *ptr[20];
  for (size_t size = 8; size <= 65536; size *= 2)
    {
      for (auto &p : ptr)
        p = ::operator new (size);
      for (auto p : ptr)
        ::operator delete (p);
    }
}

int main ()
{
  std::unique_ptr<char[]> display (new char[1 << 20]);
  for (int i = 0; i < 200; i++)
    std::thread (work).join ();
  printf ("threads: 200, key destructors run: %d\n", destructor_runs);
  return 0;
}
