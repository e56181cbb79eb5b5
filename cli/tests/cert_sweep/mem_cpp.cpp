// The SEI CERT C++ Coding Standard's memory rules (MEM50-57-CPP, OOP52-CPP, EXP51-CPP,
// EXP54-CPP, CTR50-52-CPP, STR52-CPP): the mistakes of their noncompliant examples and the
// fixes of their compliant solutions, reduced to programs of our own: argv[1] names one case.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

static void keep(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile long sink;
static const char LONG_TEXT[] = "a string longer than the small-string buffer";

struct S {
  int value = 7;
  __attribute__((noinline)) int f() const { return value; }
};
// MEM50-CPP: a member function called through a deleted object.
static void mem50_call_after_delete() {
  S *s = new S;
  keep(s);
  delete s;
  sink = s->f();
}
static std::string make_text() { return std::string(LONG_TEXT); }
// MEM50-CPP: c_str() of a temporary string kept past the statement.
static void mem50_c_str_of_temporary() {
  const char *text = make_text().c_str();
  printf("%zu\n", strlen(text));
}
// MEM50-CPP: a raw pointer from unique_ptr::get() used after reset().
static void mem50_get_after_reset() {
  std::unique_ptr<S> owner(new S);
  S *raw = owner.get();
  owner.reset();
  sink = raw->value;
}
// MEM50-CPP (and EXP61-CPP): a lambda holding a reference to a vector that dies first.
static std::function<int()> make_reader(std::vector<int> *&holder) {
  holder = new std::vector<int>(4, 3);
  std::vector<int> &ref = *holder;
  return [&ref] { return ref[1]; };
}
static void mem50_lambda_dangling() {
  std::vector<int> *holder;
  std::function<int()> reader = make_reader(holder);
  delete holder;
  sink = reader();
}
// MEM51-CPP: new, then free().
static void mem51_new_free() {
  S *s = new S;
  keep(s);
  free(s);
}
// MEM51-CPP: new[] of a trivially destructible type, then delete.
static void mem51_new_array_delete() {
  int *a = new int[8];
  keep(a);
  delete a;
}
struct Named {
  std::string name{LONG_TEXT};
  ~Named() {}
};
// MEM51-CPP: new[] of a type with a destructor (a cookie before the first element), then delete.
static void mem51_new_array_delete_cookie() {
  Named *a = new Named[2];
  keep(a);
  delete a;
}
// MEM51-CPP: malloc() and placement new, then delete.
static void mem51_malloc_delete() {
  void *raw = malloc(sizeof(S));
  S *s = new (raw) S;
  keep(s);
  delete s;
}
// MEM51-CPP: placement new into a local buffer, then delete.
static void mem51_placement_delete() {
  alignas(S) unsigned char buffer[sizeof(S)];
  S *s = new (buffer) S;
  keep(s);
  delete s;
}
// MEM51-CPP: std::allocator's storage given to free().
static void mem51_allocator_free() {
  std::allocator<int> alloc;
  int *p = alloc.allocate(4);
  keep(p);
  free(p);
}
struct Holder {
  int *value;
  Holder() : value(new int(1)) {}
  ~Holder() { delete value; }
};
// MEM51-CPP (rule of three): a copy shares the owned pointer; both destructors delete it.
static void mem51_copy_double_delete() {
  Holder first;
  Holder second = first;
  keep(&second);
}
// MEM52-CPP: nothrow new of a size that cannot be had, the result checked.
static void mem52_nothrow_checked() {
  volatile size_t count = SIZE_MAX / 16;
  int *p = new (std::nothrow) int[count];
  puts(p ? "allocated" : "failed");
  delete[] p;
}
struct Counted {
  std::string name;
  explicit Counted(const char *n) : name(n) {}
};
// MEM53-CPP: an object built by placement new in malloc'd storage, freed without its destructor
// (its string's block is lost).
static void mem53_no_destructor() {
  void *raw = malloc(sizeof(Counted));
  Counted *c = new (raw) Counted(LONG_TEXT);
  keep(c);
  free(raw);
}
// MEM54-CPP: placement new of a long into 4 bytes of heap.
static void mem54_placement_too_small() {
  char *buffer = new char[4];
  long *p = new (buffer) long(42);
  keep(p);
  delete[] buffer;
}
// MEM56-CPP: one pointer owned by two unrelated shared_ptrs.
static void mem56_two_shared_ptrs() {
  int *i = new int(5);
  std::shared_ptr<int> first(i);
  std::shared_ptr<int> second(i);
  keep(&second);
}
// MEM56-CPP: one pointer owned by a shared_ptr and a unique_ptr.
static void mem56_shared_and_unique() {
  S *s = new S;
  std::shared_ptr<S> shared(s);
  std::unique_ptr<S> unique(s);
  keep(&unique);
}
struct alignas(64) Vector64 {
  char lanes[64];
};
// MEM57-CPP: an over-aligned type by new (C++17's aligned operator new), then delete.
static void mem57_aligned_new() {
  Vector64 *v = new Vector64;
  keep(v);
  printf("aligned %d\n", (int)((uintptr_t)v % alignof(Vector64) == 0));
  delete v;
}
// MEM57-CPP: aligned new's block given to the unaligned operator delete.
static void mem57_aligned_plain_delete() {
  void *v = ::operator new(sizeof(Vector64), std::align_val_t(64));
  keep(v);
  ::operator delete(v);
}
struct Base {
  int tag = 1;
};
struct Derived : Base {
  std::string name{LONG_TEXT};
};
// OOP52-CPP: delete through a base without a virtual destructor (the derived part's string is
// lost).
static void oop52_no_virtual_dtor() {
  Base *b = new Derived;
  keep(b);
  delete b;
}
struct Left {
  long left = 1;
};
struct Right {
  long right = 2;
};
struct Both : Left, Right {};
// OOP52-CPP: delete through a second base (a pointer 8 bytes into the block).
static void oop52_second_base() {
  Right *r = new Both;
  keep(r);
  delete r;
}
struct Plain {
  long id = 3;
};
struct Owning : Plain {
  long extra = 4;
  ~Owning() { sink = extra; }
};
// EXP51-CPP: delete[] through a pointer to a base (the array's cookie not seen).
static void exp51_delete_array_base() {
  Plain *p = new Owning[3];
  keep(p);
  delete[] p;
}
// EXP54-CPP: a string_view of a temporary string read after the string is gone.
static void exp54_string_view_temporary() {
  std::string_view view = make_text();
  printf("%c\n", view[2]);
}
// CTR50-CPP: a vector written one past its end.
static void ctr50_index_past_end() {
  std::vector<int> v(4);
  keep(v.data());
  volatile size_t index = 4;
  v[index] = 1;
}
// CTR51-CPP: an iterator used after push_back moved the elements.
static void ctr51_iterator_after_push_back() {
  std::vector<int> v{1, 2, 3, 4};
  auto first = v.begin();
  v.push_back(5);
  sink = *first;
}
// CTR51-CPP: a reference into a vector written after its storage grew.
static void ctr51_reference_after_growth() {
  std::vector<long> v(2, 1);
  long &front = v[0];
  v.reserve(64);
  front = 9;
  keep(v.data());
}
// CTR52-CPP: std::copy into a vector too small for the source.
static void ctr52_copy_too_small() {
  std::vector<int> src{1, 2, 3, 4};
  std::vector<int> dst(2);
  std::copy(src.begin(), src.end(), dst.begin());
  keep(dst.data());
}
// STR52-CPP: a c_str() pointer read after the string reallocated.
static void str52_c_str_after_append() {
  std::string s(LONG_TEXT);
  const char *text = s.c_str();
  s.append(LONG_TEXT);
  printf("%c\n", text[0]);
}
// STR52-CPP: an iterator into a string written after insert() reallocated it.
static void str52_iterator_after_insert() {
  std::string s(LONG_TEXT);
  auto at = s.begin() + 1;
  s.insert(0, LONG_TEXT);
  *at = 'x';
  keep(s.data());
}

// MEM52-CPP: new of a size that cannot be had, its std::bad_alloc caught.
static void mem52_bad_alloc_caught() {
  volatile size_t count = SIZE_MAX / 16;
  try {
    int *p = new int[count];
    keep(p);
    delete[] p;
  } catch (const std::bad_alloc &) {
    puts("bad_alloc");
  }
}
struct Pair {
  int *first;
  int *second;
  explicit Pair(size_t count) : first(new int(1)), second(new int[count]) {}
  ~Pair() {
    delete first;
    delete[] second;
  }
};
// ERR57-CPP (MEM51-CPP): a constructor whose second new throws loses the first member's block.
static void err57_constructor_throws() {
  volatile size_t count = SIZE_MAX / 16;
  try {
    Pair pair(count);
    keep(&pair);
  } catch (const std::bad_alloc &) {
    puts("bad_alloc");
  }
}
struct Pooled {
  long data[2];
  static void *operator new(size_t size) { return malloc(size); }
  static void operator delete(void *p) { free(p); }
};
// MEM51-CPP: a class's own operator new (malloc) undone by the global operator delete.
static void mem51_class_new_global_delete() {
  Pooled *p = new Pooled;
  keep(p);
  ::delete p;
}
// MEM51-CPP: the global operator new's block given to the class's own operator delete (free).
static void mem51_global_new_class_delete() {
  Pooled *p = ::new Pooled;
  keep(p);
  delete p;
}
// STR53-CPP: operator[] past a string's size (read past its block).
static void str53_index_past_size() {
  std::string s(LONG_TEXT);
  volatile size_t index = s.size() + 8;
  sink = s[index];
}

// The compliant solutions.
static void compliant() {
  S *s = new S;
  sink = s->f();
  delete s;
  std::string text = make_text();
  printf("%zu\n", strlen(text.c_str()));
  std::unique_ptr<S> owner(new S);
  sink = owner->value;
  owner.reset();
  std::vector<int> *holder;
  std::function<int()> reader = make_reader(holder);
  sink = reader();
  delete holder;
  int *a = new int[8];
  delete[] a;
  Named *named = new Named[2];
  delete[] named;
  void *raw = malloc(sizeof(S));
  S *placed = new (raw) S;
  placed->~S();
  free(raw);
  std::allocator<int> alloc;
  int *p = alloc.allocate(4);
  alloc.deallocate(p, 4);
  Holder one;
  keep(&one);
  mem52_nothrow_checked();
  Pooled *pooled = new Pooled;
  delete pooled;
  sink = text.at(3);
  void *storage = malloc(sizeof(Counted));
  Counted *c = new (storage) Counted(LONG_TEXT);
  c->~Counted();
  free(storage);
  alignas(long) char buffer[sizeof(long)];
  long *l = new (buffer) long(42);
  keep(l);
  std::shared_ptr<int> first = std::make_shared<int>(5);
  std::shared_ptr<int> second(first);
  keep(&second);
  mem57_aligned_new();
  Derived *d = new Derived;
  delete d;
  Both *both = new Both;
  delete both;
  Owning *owning = new Owning[3];
  delete[] owning;
  std::string held = make_text();
  std::string_view view = held;
  printf("%c\n", view[2]);
  std::vector<int> v{1, 2, 3, 4};
  v.push_back(5);
  sink = v.at(4) + *v.begin();
  std::vector<int> src{1, 2, 3, 4};
  std::vector<int> dst;
  std::copy(src.begin(), src.end(), std::back_inserter(dst));
  std::string str(LONG_TEXT);
  str.append(LONG_TEXT);
  printf("%c\n", str.c_str()[0]);
}

static const struct {
  const char *name;
  void (*run)();
} cases[] = {
    {"mem50_call_after_delete", mem50_call_after_delete},
    {"mem50_c_str_of_temporary", mem50_c_str_of_temporary},
    {"mem50_get_after_reset", mem50_get_after_reset},
    {"mem50_lambda_dangling", mem50_lambda_dangling},
    {"mem51_new_free", mem51_new_free},
    {"mem51_new_array_delete", mem51_new_array_delete},
    {"mem51_new_array_delete_cookie", mem51_new_array_delete_cookie},
    {"mem51_malloc_delete", mem51_malloc_delete},
    {"mem51_placement_delete", mem51_placement_delete},
    {"mem51_allocator_free", mem51_allocator_free},
    {"mem51_copy_double_delete", mem51_copy_double_delete},
    {"mem52_nothrow_checked", mem52_nothrow_checked},
    {"mem53_no_destructor", mem53_no_destructor},
    {"mem54_placement_too_small", mem54_placement_too_small},
    {"mem56_two_shared_ptrs", mem56_two_shared_ptrs},
    {"mem56_shared_and_unique", mem56_shared_and_unique},
    {"mem57_aligned_new", mem57_aligned_new},
    {"mem57_aligned_plain_delete", mem57_aligned_plain_delete},
    {"oop52_no_virtual_dtor", oop52_no_virtual_dtor},
    {"oop52_second_base", oop52_second_base},
    {"exp51_delete_array_base", exp51_delete_array_base},
    {"exp54_string_view_temporary", exp54_string_view_temporary},
    {"ctr50_index_past_end", ctr50_index_past_end},
    {"ctr51_iterator_after_push_back", ctr51_iterator_after_push_back},
    {"ctr51_reference_after_growth", ctr51_reference_after_growth},
    {"ctr52_copy_too_small", ctr52_copy_too_small},
    {"str52_c_str_after_append", str52_c_str_after_append},
    {"str52_iterator_after_insert", str52_iterator_after_insert},
    {"mem52_bad_alloc_caught", mem52_bad_alloc_caught},
    {"err57_constructor_throws", err57_constructor_throws},
    {"mem51_class_new_global_delete", mem51_class_new_global_delete},
    {"mem51_global_new_class_delete", mem51_global_new_class_delete},
    {"str53_index_past_size", str53_index_past_size},
    {"compliant", compliant},
};

int main(int argc, char **argv) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (argc > 1 && strcmp(argv[1], cases[i].name) == 0) {
      cases[i].run();
      puts("done");
      return 0;
    }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    puts(cases[i].name);
  return 2;
}
