// new and delete misused: GCC's -fanalyzer C++ heap tests (gcc/testsuite/g++.dg/analyzer/:
// exception-leak-*.C, placement-new-size.C, out-of-bounds-placement-new.C, unique_ptr-1.C,
// new-1.C), reduced to programs of our own: argv[1] names one case.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile int sink;

static __attribute__((noinline)) void may_throw(bool fail) {
  if (fail)
    throw std::runtime_error("failed");
}
// exception-leak-1.C: a new'd int lost when a call throws before its delete.
static void exception_leak() {
  try {
    int *p = new int(42);
    keep(p);
    may_throw(true);
    delete p;
  } catch (const std::exception &) {
  }
}
// exception-leak-*.C's no-warning form: a unique_ptr frees the int as the stack unwinds.
static void exception_unique_ptr() {
  try {
    std::unique_ptr<int> p(new int(42));
    keep(p.get());
    may_throw(true);
  } catch (const std::exception &) {
  }
}
// placement-new-size.C: an int64_t placed in a 4-byte malloc block.
static void placement_new_too_small() {
  void *buf = malloc(4);
  keep(buf);
  int64_t *x = new (buf) int64_t(42);
  keep(x);
  free(buf);
}
// out-of-bounds-placement-new.C: an int placed one past a new[]'d array.
static void placement_new_past_array() {
  int32_t *a = new int32_t[2];
  keep(a);
  int32_t *x = new (a + 2) int32_t(7);
  keep(x);
  delete[] a;
}
// unique_ptr-1.C: release() without a delete.
static void unique_ptr_release_leak() {
  std::unique_ptr<int> u(new int(3));
  keep(u.release());
}
// new-1.C: a delete, then a read through the stale pointer.
static void read_after_delete() {
  int *p = new int(9);
  keep(p);
  delete p;
  sink = *p;
}
// The no-warning forms together.
static void good() {
  exception_unique_ptr();
  void *buf = malloc(sizeof(int64_t));
  int64_t *x = new (buf) int64_t(42);
  keep(x);
  free(buf);
  int *p = new int(1);
  delete p;
}

static const struct {
  const char *name;
  void (*run)();
} cases[] = {
    {"exception_leak", exception_leak},
    {"exception_unique_ptr", exception_unique_ptr},
    {"placement_new_too_small", placement_new_too_small},
    {"placement_new_past_array", placement_new_past_array},
    {"unique_ptr_release_leak", unique_ptr_release_leak},
    {"read_after_delete", read_after_delete},
    {"good", good},
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
