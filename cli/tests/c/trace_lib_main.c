/* Stack-trace sweep: leaks through trace_lib.c, linked (libtrace_lib1.so) and dlopen'd
   (argv[1]: a second copy). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
char *lib_make(size_t n);
void *volatile sink;
int main(int argc, char **argv)
{
    sink = lib_make(33);
    void *h = dlopen(argc > 1 ? argv[1] : "./libtrace_lib2.so", RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    char *(*f)(size_t) = (char *(*)(size_t))dlsym(h, "lib_make");
    sink = f(44);
    sink = 0;
    return 0;
}
