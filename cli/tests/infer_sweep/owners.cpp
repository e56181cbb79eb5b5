// Facebook Infer's Pulse tests (infer/tests/codetoanalyze/cpp/pulse/: use_after_free.cpp,
// reference_stability.cpp, use_after_destructor.cpp's basic_placement_new_ok, leaks.cpp) and
// crossings of our own through the smart pointers of unique_ptr_deref.cpp and
// shared_ptr_deleter.cpp (an array owned by a pointer that deletes one object, and the
// reverse), reduced to programs of our own: argv[1] names one case. Every run prints "done".
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <unordered_map>

static void keep(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile int sunk;
static void sink(int v) { sunk = v; }

// use_after_free.cpp
static int *global_pointer;
static void free_global_pointer() { free(global_pointer); }
static void double_free_global() {
  global_pointer = (int *)malloc(sizeof(int));
  free_global_pointer();
  keep(global_pointer);
  free_global_pointer();
}
static int use_after_free_simple(int *x) {
  free(x);
  keep(x);
  return *x;
}
static void use_after_free_param() { sink(use_after_free_simple((int *)malloc(sizeof(int)))); }

// reference_stability.cpp: std::unordered_map keeps its nodes across a rehash (ok), not across
// clear() or erase() (folly_valuemap_bad_FN with the standard map).
static void unordered_map_rehash_ok() {
  std::unordered_map<int, int> map = {{1, 1}, {2, 4}, {3, 9}};
  const auto &keyRef = map.begin()->first;
  const auto &valueRef = map.begin()->second;
  for (int i = 4; i < 64; i++)
    map[i] = i * i;
  sink(keyRef + valueRef);
}
static void unordered_map_clear() {
  std::unordered_map<int, int> map = {{1, 1}, {2, 4}, {3, 9}};
  const auto &valueRef = map.at(1);
  map.clear();
  sink(valueRef);
}
static void map_erase() {
  std::map<int, int> map = {{1, 1}, {2, 4}, {3, 9}};
  const auto &valueRef = map.at(2);
  map.erase(2);
  sink(valueRef);
}

// Smart pointers given the other family's block.
static void shared_ptr_of_new_array() {
  std::shared_ptr<int> p(new int[4]);
  keep(p.get());
}
static void unique_ptr_of_new_array() {
  std::unique_ptr<int> p(new int[4]);
  keep(p.get());
}
static void unique_array_of_new() {
  std::unique_ptr<int[]> p(new int);
  keep(p.get());
}
static void unique_ptr_of_malloc() {
  std::unique_ptr<int> p((int *)malloc(sizeof(int)));
  keep(p.get());
}
static void shared_array_of_malloc() {
  std::shared_ptr<int[]> p((int *)malloc(4 * sizeof(int)));
  keep(p.get());
}
// use_after_destructor.cpp's basic_placement_new_ok with a class whose delete[] reads no
// array cookie: new, placement new over it, then delete[].
struct T {
  int *f;
};
static void placement_new_delete_array() {
  T *ptr = new T{nullptr};
  T *tptr = new (ptr) T{nullptr};
  keep(tptr);
  delete[] ptr;
}
static void owners_ok() {
  std::shared_ptr<int> a(new int[4], std::default_delete<int[]>());
  std::unique_ptr<int[]> b(new int[4]);
  std::shared_ptr<int[]> c(new int[4]);
  std::unique_ptr<int, decltype(&free)> d((int *)malloc(sizeof(int)), free);
  keep(a.get());
  keep(b.get());
  keep(c.get());
  keep(d.get());
  int *p = nullptr;
  free(p);
}

struct Case {
  const char *name;
  void (*run)();
};
static const Case cases[] = {
    {"double_free_global", double_free_global},
    {"use_after_free_param", use_after_free_param},
    {"unordered_map_rehash_ok", unordered_map_rehash_ok},
    {"unordered_map_clear", unordered_map_clear},
    {"map_erase", map_erase},
    {"shared_ptr_of_new_array", shared_ptr_of_new_array},
    {"unique_ptr_of_new_array", unique_ptr_of_new_array},
    {"unique_array_of_new", unique_array_of_new},
    {"unique_ptr_of_malloc", unique_ptr_of_malloc},
    {"shared_array_of_malloc", shared_array_of_malloc},
    {"placement_new_delete_array", placement_new_delete_array},
    {"owners_ok", owners_ok},
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
