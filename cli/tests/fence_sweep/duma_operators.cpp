// After DUMA's tests/testoperators.cpp (a class whose member new/delete, new[]/delete[] and
// their nothrow forms forward to the global ones), with placement new, and its examples 4
// (malloc, then delete) and 7 (new[], then delete). Written for gpa's sweep, no upstream code.
#include <cstdio>
#include <cstdlib>
#include <new>

struct Tracked {
  int value;
  static void *operator new(std::size_t size) { return ::operator new(size); }
  static void *operator new(std::size_t size, const std::nothrow_t &tag) noexcept {
    return ::operator new(size, tag);
  }
  static void operator delete(void *p) noexcept { ::operator delete(p); }
  static void *operator new[](std::size_t size) { return ::operator new[](size); }
  static void operator delete[](void *p) noexcept { ::operator delete[](p); }
};

int main() {
  Tracked *one = new Tracked;
  Tracked *quiet = new (std::nothrow) Tracked;
  Tracked *many = new Tracked[5];
  delete one;
  delete quiet;
  delete[] many;
  void *room = std::malloc(sizeof(Tracked));
  Tracked *placed = ::new (room) Tracked{42};
  std::printf("placed %d\n", placed->value);
  placed->~Tracked();
  std::free(room);
  int *from_malloc = static_cast<int *>(std::malloc(10 * sizeof(int)));
  delete from_malloc; // example4: malloc, then delete
  int *array = new int[10];
  delete array; // example7: new[], then delete
  std::puts("done");
  return 0;
}
