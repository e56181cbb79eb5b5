// C++ allocation families crossed: the Clang Static Analyzer's MismatchedDeallocator and
// NewDelete tests (clang/test/Analysis/MismatchedDeallocator-checker-test.mm testMalloc1-8,
// testAlloca, testNew1-10; NewDelete-intersections.mm; Malloc+MismatchedDeallocator+NewDelete.cpp;
// malloc.cpp argument_leak), reduced to programs of our own: argv[1] names one case.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <memory>
#include <new>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static int *alloc_int() { int *p = new int; keep(p); return p; }
static int *alloc_ints(unsigned n) { int *p = new int[n]; keep(p); return p; }

static void malloc_delete() {
  int *p = (int *)malloc(sizeof(int));
  keep(p);
  delete p;
}
static void realloc_delete() {
  int *p = (int *)malloc(8);
  int *q = (int *)realloc(p, 16);
  keep(q);
  delete q;
}
static void calloc_delete() {
  int *p = (int *)calloc(1, sizeof(int));
  keep(p);
  delete p;
}
static void strdup_delete() {
  char *p = strdup("clang");
  keep(p);
  delete p;
}
static void malloc_op_delete() {
  int *p = (int *)malloc(sizeof(int));
  keep(p);
  operator delete(p);
}
static void malloc_delete_array() {
  int *p = (int *)malloc(sizeof(int));
  keep(p);
  delete[] p;
}
static void malloc_op_delete_array() {
  int *p = (int *)malloc(sizeof(int));
  keep(p);
  operator delete[](p);
}
static void alloca_delete() {
  int *p = (int *)__builtin_alloca(sizeof(int));
  keep(p);
  delete p;
}
static void new_free() {
  int *p = new int;
  keep(p);
  free(p);
}
static void op_new0_free() {
  int *p = (int *)operator new(0);
  keep(p);
  free(p);
}
static void new_array_free() {
  int *p = new int[1];
  keep(p);
  free(p);
}
static void new_realloc() {
  int *p = new int;
  keep(p);
  keep(realloc(p, sizeof(long)));
}
static void op_new0_realloc() {
  int *p = (int *)operator new(0);
  keep(p);
  keep(realloc(p, sizeof(long)));
}
static void new_array_realloc() {
  int *p = new int[1];
  keep(p);
  keep(realloc(p, sizeof(long)));
}
static void new_delete_array() {
  int *p = alloc_int();
  delete[] p;
}
static void op_new0_delete_array() {
  int *p = (int *)operator new(0);
  keep(p);
  delete[] p;
}
static void new_array_delete() {
  int *p = alloc_ints(1);
  delete p;
}
static void op_new_array0_delete() {
  int *p = (int *)operator new[](0);
  keep(p);
  delete p;
}

template <typename T> struct SimpleSmartPointer {
  T *ptr;
  explicit SimpleSmartPointer(T *p = 0) : ptr(p) {}
  ~SimpleSmartPointer() {
    delete ptr;
  }
};
static void smart_new_array() {
  SimpleSmartPointer<int> a(alloc_ints(4));
}
static void smart_malloc() {
  SimpleSmartPointer<int> a((int *)malloc(4));
}

struct Named {
  char *name;
  Named() : name(0) {}
  char *get() {
    if (!name)
      name = static_cast<char *>(malloc(10));
    return name;
  }
  ~Named() {
    if (name)
      delete[] name;
  }
};
static void member_malloc_delete_array() {
  Named a;
  keep(a.get());
}

static int *global_ptr;
static void free_then_delete() {
  int *p = (int *)malloc(sizeof(int) * 4);
  global_ptr = p;
  free(p);
  delete global_ptr;
}
static void free_then_op_delete() {
  int *p = (int *)malloc(sizeof(int));
  keep(p);
  free(p);
  operator delete(p);
}
static void delete_then_free() {
  int *p = new int;
  keep(p);
  delete p;
  free(p);
}
static void new_free_free() {
  int *p = new int;
  keep(p);
  free(p);
  free(p);
}
static void placement_new_after_free() {
  int *p = (int *)malloc(sizeof(int));
  keep(p);
  free(p);
  p = new (p) int(7);
  keep(p);
}
static void new_array_assigned_delete() {
  int *arr = alloc_ints(4);
  global_ptr = arr;
  delete arr;
}

// Arrays of a class with a destructor carry a cookie (the count) before the objects.
struct Counted {
  int value;
  Counted() : value(1) {}
  ~Counted() { keep(&value); }
};
static void class_array_delete() {
  Counted *p = new Counted[4];
  keep(p);
  delete p;
}
static void class_new_delete_array() {
  Counted *p = new Counted;
  keep(p);
  delete[] p;
}
static void class_array_free() {
  Counted *p = new Counted[4];
  keep(p);
  free(p);
}

// DeleteWithNonVirtualDtor.cpp: a derived object deleted through a base without a virtual
// destructor. With a second base the pointer is not the block's start; sized delete
// (C++14) passes the base's size.
struct First { int a; };
struct Second { int b; ~Second() { keep(&b); } };
struct Both : First, Second { int c[4]; };
static void second_base_delete() {
  Second *p = new Both;
  keep(p);
  delete p;
}
struct Small { int a; ~Small() { keep(&a); } };
struct Large : Small { int more[7]; };
static void base_sized_delete() {
  Small *p = new Large;
  keep(p);
  delete p;
}
static void op_sized_delete_wrong() {
  void *p = operator new(16);
  keep(p);
  operator delete(p, 8);
}
static void op_sized_delete_array_wrong() {
  void *p = operator new[](40);
  keep(p);
  operator delete[](p, 24);
}
struct alignas(64) Wide { int x; };
static void aligned_new_plain_delete() {
  Wide *p = new Wide;
  keep(p);
  operator delete(p);
}
static void aligned_new_free() {
  Wide *p = new Wide;
  keep(p);
  free(p);
}
static void aligned_alloc_delete() {
  void *p = aligned_alloc(64, 64);
  keep(p);
  operator delete(p, std::align_val_t(64));
}

// More crossings at run time (no analyzer test): C's aligned allocators released by delete,
// std::allocator told the wrong count (its sized delete), an over-aligned class array's cookie,
// realloc of a class array.
static void memalign_delete() {
  void *p = memalign(64, 32);
  keep(p);
  operator delete(p);
}
static void posix_memalign_delete_array() {
  void *p = 0;
  if (posix_memalign(&p, 32, 48) != 0)
    return;
  keep(p);
  operator delete[](p);
}
static void valloc_delete() {
  char *p = (char *)valloc(100);
  keep(p);
  delete p;
}
static void allocator_wrong_count() {
  std::allocator<int> a;
  int *p = a.allocate(10);
  keep(p);
  a.deallocate(p, 5);
}
struct alignas(64) WideCounted {
  int value;
  WideCounted() : value(1) {}
  ~WideCounted() { keep(&value); }
};
static void aligned_class_array_delete() {
  WideCounted *p = new WideCounted[2];
  keep(p);
  delete p;
}
static void class_array_realloc() {
  Counted *p = new Counted[4];
  keep(p);
  keep(realloc(p, 64));
}

// ArrayDelete.cpp: an array of a derived class deleted through its base (same size here: the
// program runs as written).
struct Base { virtual ~Base() = default; };
struct Derived : Base {};
static void array_delete_through_base() {
  Base *b = new Derived[3];
  keep(b);
  delete[] b;
}

// The matching pairs: nothing to report.
static void good() {
  int *a = (int *)malloc(4);
  keep(a);
  free(a);
  int *b = new int;
  keep(b);
  delete b;
  int *c = alloc_ints(4);
  delete[] c;
  Counted *d = new Counted[4];
  keep(d);
  delete[] d;
  Second *e = new Second;
  keep(e);
  delete e;
  Wide *f = new Wide;
  keep(f);
  delete f;
  void *g = operator new(16, std::nothrow);
  keep(g);
  operator delete(g, std::nothrow);
  SimpleSmartPointer<int> h(new int);
}

struct Case { const char *name; void (*run)(); };
static const Case cases[] = {
    {"malloc_delete", malloc_delete},
    {"realloc_delete", realloc_delete},
    {"calloc_delete", calloc_delete},
    {"strdup_delete", strdup_delete},
    {"malloc_op_delete", malloc_op_delete},
    {"malloc_delete_array", malloc_delete_array},
    {"malloc_op_delete_array", malloc_op_delete_array},
    {"alloca_delete", alloca_delete},
    {"new_free", new_free},
    {"op_new0_free", op_new0_free},
    {"new_array_free", new_array_free},
    {"new_realloc", new_realloc},
    {"op_new0_realloc", op_new0_realloc},
    {"new_array_realloc", new_array_realloc},
    {"new_delete_array", new_delete_array},
    {"op_new0_delete_array", op_new0_delete_array},
    {"new_array_delete", new_array_delete},
    {"op_new_array0_delete", op_new_array0_delete},
    {"smart_new_array", smart_new_array},
    {"smart_malloc", smart_malloc},
    {"member_malloc_delete_array", member_malloc_delete_array},
    {"free_then_delete", free_then_delete},
    {"free_then_op_delete", free_then_op_delete},
    {"delete_then_free", delete_then_free},
    {"new_free_free", new_free_free},
    {"placement_new_after_free", placement_new_after_free},
    {"new_array_assigned_delete", new_array_assigned_delete},
    {"class_array_delete", class_array_delete},
    {"class_new_delete_array", class_new_delete_array},
    {"class_array_free", class_array_free},
    {"second_base_delete", second_base_delete},
    {"base_sized_delete", base_sized_delete},
    {"op_sized_delete_wrong", op_sized_delete_wrong},
    {"op_sized_delete_array_wrong", op_sized_delete_array_wrong},
    {"aligned_new_plain_delete", aligned_new_plain_delete},
    {"aligned_new_free", aligned_new_free},
    {"aligned_alloc_delete", aligned_alloc_delete},
    {"memalign_delete", memalign_delete},
    {"posix_memalign_delete_array", posix_memalign_delete_array},
    {"valloc_delete", valloc_delete},
    {"allocator_wrong_count", allocator_wrong_count},
    {"aligned_class_array_delete", aligned_class_array_delete},
    {"class_array_realloc", class_array_realloc},
    {"array_delete_through_base", array_delete_through_base},
    {"good", good},
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
