// Stack-trace sweep: C++ templates, lambdas, std::function and an anonymous namespace at
// -O2, whose inlined frames Valgrind names by their names in the source.
#include <vector>
#include <map>
#include <string>
#include <functional>
void *volatile sink;
namespace ns {
template <typename T> struct Box {
    T *make(int n) { return new T[n]; }
};
}
template <typename T> __attribute__((noinline)) T *build(int n)
{
    ns::Box<T> b;
    return b.make(n);
}
namespace {
__attribute__((noinline)) int *anon_alloc() { return new int[7]; }
}
int main()
{
    sink = build<double>(4);
    sink = build<std::string>(2);
    auto lam = [](int n) { return new char[n]; };
    sink = lam(13);
    std::function<long *()> fn = [] { return new long(5); };
    sink = fn();
    sink = anon_alloc();
    sink = 0;
    return 0;
}
