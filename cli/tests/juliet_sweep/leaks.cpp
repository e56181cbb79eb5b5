// CWE-401 (memory leak): a reduction of our own of Juliet's
// CWE401_Memory_Leak__{char,int,int64_t,wchar_t,struct_twoIntsStruct}_{malloc,calloc,realloc}_01.c,
// __new{,_array}_{char,int,TwoIntsClass,...}_01.cpp, __strdup_{char,wchar_t}_01.c and
// __malloc_realloc_*_01.c (a realloc whose failure would lose the block, and whose result is
// then dropped). "bad": each block's only pointer dropped; "good": each released.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>

struct Pair {
    int first;
    int second;
};

static void bad() {
    char *m = (char *)malloc(100);
    m[0] = 'A';
    long long *c = (long long *)calloc(100, sizeof(long long));
    c[0] = 5;
    Pair *r = (Pair *)realloc(NULL, 100 * sizeof(Pair));
    r[0].first = 1;
    int *grown = (int *)malloc(100 * sizeof(int));
    grown = (int *)realloc(grown, 130 * sizeof(int));
    grown[0] = 5;
    Pair *n = new Pair;
    n->first = 1;
    wchar_t *na = new wchar_t[100];
    na[0] = L'A';
    char *s = strdup("a string that leaks");
    wchar_t *w = wcsdup(L"a wide string that leaks");
    printf("%c %lld %d %d %d %lc %c %lc\n", m[0], c[0], r[0].first, grown[0], n->first, na[0],
           s[0], w[0]);
}

static void good() {
    char *m = (char *)malloc(100);
    free(m);
    int *grown = (int *)malloc(100 * sizeof(int));
    int *bigger = (int *)realloc(grown, 130 * sizeof(int));
    if (bigger != NULL)
        grown = bigger;
    free(grown);
    Pair *n = new Pair;
    delete n;
    wchar_t *na = new wchar_t[100];
    delete[] na;
    char *s = strdup("a string");
    free(s);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "good") == 0)
        good();
    else
        bad();
    puts("done");
    return 0;
}
