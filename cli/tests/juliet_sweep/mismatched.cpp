// CWE-762 (mismatched memory management routines): a reduction of our own of Juliet's
// CWE762_Mismatched_Memory_Management_Routines__{delete,delete_array}_*_{malloc,calloc,
// realloc}_01.cpp, __new_{free,delete_array}_*_01.cpp, __new_array_{free,delete}_*_01.cpp and
// __strdup_{delete,delete_array}_{char,wchar_t}_01.cpp. "bad": each block released by the
// other family's routine; "good": each by its own.
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
    delete m;
    long *c = (long *)calloc(10, sizeof(long));
    delete[] c;
    Pair *r = (Pair *)realloc(NULL, sizeof(Pair));
    delete r;
    Pair *n = new Pair;
    free(n);
    int *na = new int[10];
    free(na);
    wchar_t *nw = new wchar_t[10];
    delete nw;
    long long *nd = new long long;
    delete[] nd;
    char *s = strdup("a string");
    delete[] s;
    wchar_t *w = wcsdup(L"a wide string");
    delete w;
}

static void good() {
    char *m = (char *)malloc(100);
    free(m);
    long *c = (long *)calloc(10, sizeof(long));
    free(c);
    Pair *r = (Pair *)realloc(NULL, sizeof(Pair));
    free(r);
    Pair *n = new Pair;
    delete n;
    int *na = new int[10];
    delete[] na;
    wchar_t *nw = new wchar_t[10];
    delete[] nw;
    long long *nd = new long long;
    delete nd;
    char *s = strdup("a string");
    free(s);
    wchar_t *w = wcsdup(L"a wide string");
    free(w);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "good") == 0)
        good();
    else
        bad();
    puts("done");
    return 0;
}
