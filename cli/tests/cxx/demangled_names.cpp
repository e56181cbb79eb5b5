// One C++ mistake per kind of name a demangler has to get right: a function in an anonymous
// namespace, a class template's constructor and destructor, an operator, a function template
// with a non-type argument, a lambda, a lambda called through std::function, and a functor.
#include <cstdlib>
#include <functional>

namespace {
int *anonymous_leak(int count) { return new int[count]; } // 12 bytes lost
} // namespace

template <typename T> struct Holder {
    T *item;
    explicit Holder(T value) : item(new T(value)) {} // 8 bytes (freed by the destructor)
    ~Holder() { free(item); }                         // new + free: mismatched
};

struct Point {
    double x, y;
};

Point *operator+(const Point &a, const Point &b) { return new Point{a.x + b.x, a.y + b.y}; } // 16

template <typename T, int N> T *make_array() { return new T[N]; } // 24 bytes lost

struct Counter {
    void *operator()(int n) const { return malloc(n); } // 33 bytes lost
};

int main() {
    anonymous_leak(3);
    { Holder<long> holder(7); }
    Point a{1, 2}, b{3, 4};
    a + b;
    make_array<char, 24>();
    auto lambda = [](int n) { return malloc(n); };
    lambda(40);
    std::function<void *(unsigned long)> function = [](unsigned long n) { return malloc(n); };
    function(56);
    Counter{}(33);
    return 0;
}
