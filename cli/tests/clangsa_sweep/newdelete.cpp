// new and delete misused within their own family: the Clang Static Analyzer's NewDelete and
// NewDeleteLeaks tests (clang/test/Analysis/NewDelete-checker-test.cpp, new.cpp, malloc.cpp
// test_delete_ZERO_SIZE_PTR, Malloc+MismatchedDeallocator+NewDelete.cpp), reduced to programs
// of our own: argv[1] names one case.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static int sink;
static void use(int value) { sink = value; keep(&sink); }

static void leak_op_new0() {
  void *p = operator new(0);
  keep(p);
}
static void leak_op_new_array0() {
  void *p = operator new[](0);
  keep(p);
}
static void leak_new_int() {
  int *p = new int;
  keep(p);
}
static void leak_new_int_array0() {
  int *p = new int[0];
  keep(p);
}
static void leak_nothrow_op_new0() {
  void *p = operator new(0, std::nothrow);
  keep(p);
}
static void leak_nothrow_new() {
  int *p = new (std::nothrow) int;
  keep(p);
}
static int *global;
static void escape_to_global() {
  int *p = new int;
  if (global != p)
    global = p;
}
static void zero_new_write() {
  int *p = (int *)operator new(0);
  keep(p);
  *p = 1;
  delete p;
}
static int zero_new_array_read() {
  int *p = (int *)operator new[](0);
  keep(p);
  return p[0];
}
static void zero_new_int_array_read() {
  int *p = new int[0];
  keep(p);
  use(*p);
  delete[] p;
}

struct SomeClass {
  int field;
  SomeClass() : field(3) {}
  __attribute__((noinline)) void f(int *p) { use(field + (p ? *p : 0)); }
};
static void use_arg_after_delete() {
  int *p = new int(5);
  SomeClass *c = new SomeClass;
  keep(p);
  delete p;
  c->f(p);
  delete c;
}
static void use_this_after_delete() {
  SomeClass *c = new SomeClass;
  keep(c);
  delete c;
  c->f(0);
}
static void double_delete() {
  int *p = new int;
  keep(p);
  delete p;
  delete p;
}
static void delete_local() {
  int i;
  keep(&i);
  delete &i;
}
static void delete_array_local() {
  int i;
  keep(&i);
  delete[] &i;
}
static void delete_array_offset() {
  int *p = new (std::nothrow) int[1];
  keep(p);
  delete[] (++p);
}
static void op_delete_offset() {
  int *p = new int;
  keep(p);
  operator delete(++p);
}

struct DerefClass {
  int *x;
  DerefClass() : x(0) {}
  ~DerefClass() {
    int i = 0;
    x = &i;
    *x = 1;
  }
};
static void double_delete_class() {
  DerefClass *foo = new DerefClass();
  keep(foo);
  delete foo;
  delete foo;
}
struct EmptyClass {
  EmptyClass() {}
  ~EmptyClass() {}
};
static void double_delete_empty_class() {
  EmptyClass *foo = new EmptyClass();
  keep(foo);
  delete foo;
  delete foo;
}
static void op_new0_read_after_delete() {
  int *p = (int *)operator new(0);
  keep(p);
  delete p;
  use(*p);
}

namespace reference_count {
class control_block {
  unsigned count;
public:
  control_block() : count(0) {}
  void retain() { ++count; }
  int release() { return --count; }
};
template <typename T> class shared_ptr {
  T *p;
  control_block *control;
public:
  explicit shared_ptr(T *p) : p(p), control(new control_block) { control->retain(); }
  shared_ptr(const shared_ptr &other) : p(other.p), control(other.control) {
    control->retain();
  }
  ~shared_ptr() {
    if (control->release() == 0) {
      delete p;
      delete control;
    }
  }
};
static void write_after_shared_release() {
  int *p = new int;
  {
    shared_ptr<int> a(p);
    shared_ptr<int> b = a;
  }
  *p = 1;
  keep(p);
}
} // namespace reference_count

template <typename T> class unique_ptr {
  T *q;
public:
  unique_ptr() : q(new T) { keep(q); }
  ~unique_ptr() { delete q; }
};
union custom_union_t {
  unique_ptr<int> present;
  char notpresent;
  custom_union_t() : present(unique_ptr<int>()) {}
  ~custom_union_t() {}
};
static void union_leak() {
  custom_union_t a;
  keep(&a);
}

static void delete_constant_address() {
  int *p = (int *)16;
  keep(&p);
  delete p;
}

struct Base { virtual ~Base() {} };
struct Derived : Base { int extra[2]; };
static Base *allocate() { return new Derived; }

// The pairs as meant: nothing to report.
static void good() {
  Derived *p = (Derived *)allocate();
  delete p;
  int *q = new int(4);
  reference_count::shared_ptr<int> a(q);
  reference_count::shared_ptr<int> b = a;
  custom_union_t u;
  u.present.~unique_ptr<int>();
  void *r = ::operator new(10);
  keep(r);
  ::operator delete(r);
}

struct Case { const char *name; void (*run)(); };
static void zero_new_array_read_case() { use(zero_new_array_read()); }
static const Case cases[] = {
    {"leak_op_new0", leak_op_new0},
    {"leak_op_new_array0", leak_op_new_array0},
    {"leak_new_int", leak_new_int},
    {"leak_new_int_array0", leak_new_int_array0},
    {"leak_nothrow_op_new0", leak_nothrow_op_new0},
    {"leak_nothrow_new", leak_nothrow_new},
    {"escape_to_global", escape_to_global},
    {"zero_new_write", zero_new_write},
    {"zero_new_array_read", zero_new_array_read_case},
    {"zero_new_int_array_read", zero_new_int_array_read},
    {"use_arg_after_delete", use_arg_after_delete},
    {"use_this_after_delete", use_this_after_delete},
    {"double_delete", double_delete},
    {"delete_local", delete_local},
    {"delete_array_local", delete_array_local},
    {"delete_array_offset", delete_array_offset},
    {"op_delete_offset", op_delete_offset},
    {"double_delete_class", double_delete_class},
    {"double_delete_empty_class", double_delete_empty_class},
    {"op_new0_read_after_delete", op_new0_read_after_delete},
    {"write_after_shared_release", reference_count::write_after_shared_release},
    {"union_leak", union_leak},
    {"delete_constant_address", delete_constant_address},
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
