// A program that replaces the global operator new (NewDelete-custom.cpp: the analyzer's
// checks stay quiet on custom allocators): its own new and new[] call malloc. Built as it is,
// its operator delete and delete[] call free, and every pairing is right at run time; built
// with -DONLY_NEW, delete and delete[] are the C++ library's, handed blocks of malloc.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

void *operator new(std::size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p)
    throw std::bad_alloc();
  return p;
}
void *operator new[](std::size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p)
    throw std::bad_alloc();
  return p;
}
#ifndef ONLY_NEW
void operator delete(void *p) noexcept { free(p); }
void operator delete(void *p, std::size_t) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete[](void *p, std::size_t) noexcept { free(p); }
#endif

static void pairs() {
  int *p = new int(1);
  keep(p);
  delete p;
  int *q = new int[8];
  keep(q);
  delete[] q;
}
static void new_then_free() {
  int *p = new int(2);
  keep(p);
  free(p);
}
static void leak() {
  int *p = new int[4];
  keep(p);
}

struct Case { const char *name; void (*run)(); };
static const Case cases[] = {
    {"pairs", pairs},
    {"new_then_free", new_then_free},
    {"leak", leak},
};

int main(int argc, char **argv) {
  for (const Case &c : cases)
    if (argc > 1 && strcmp(argv[1], c.name) == 0) {
      c.run();
      puts("done");
      return 0;
    }
  for (const Case &c : cases)
    puts(c.name);
  return 2;
}
