// Stack-trace sweep: operator new[] of objects with a destructor (a compiler clone) and of
// ints, and a block moved twice by realloc.
#include <cstdlib>
#include <cstring>
void *volatile sink;
struct S { int a[3]; ~S() {} };
__attribute__((noinline)) static S *make_objects(int n) { return new S[n]; }
__attribute__((noinline)) int *make_ints(int n) { return new int[n]; }
int main()
{
    sink = make_objects(3);
    sink = make_ints(5);
    char *p = (char *)malloc(10);
    p = (char *)realloc(p, 100);
    p = (char *)realloc(p, 1000);
    sink = p;
    sink = 0;
    return 0;
}
