/* C functions whose names are also Itanium C++ ABI codes of builtin types ("f" float, "g"
 * __float128, "i" int, "v" void, "d" double, "x" long long): each leaks a block of its own
 * size. Valgrind names them as the symbol table spells them; a C++ demangler that accepts a
 * bare type would print "float", "__float128", ... instead. */
#include <stdlib.h>

void *f(void) { return malloc(11); }
void *g(void) { return malloc(12); }
void *i(void) { return malloc(13); }
void *v(void) { return malloc(14); }
void *d(void) { return malloc(15); }
void *x(void) { return malloc(16); }

void *volatile sink;

int main(void) {
    sink = f();
    sink = g();
    sink = i();
    sink = v();
    sink = d();
    sink = x();
    sink = 0;
    return 0;
}
