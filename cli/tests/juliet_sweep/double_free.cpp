// CWE-415 (double free): a reduction of our own of Juliet's
// CWE415_Double_Free__malloc_free_{char,int,long,int64_t,struct,wchar_t}_01.c and
// __new_delete{,_array}_{char,class,struct,...}_01.cpp. Argument "malloc", "new", "array" or
// "class" (a class whose destructor reads a member: the second delete runs it on the freed
// object first): a block released twice (glibc aborts: "free(): double free detected in
// tcache 2"); "good": each released once.
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct Pair {
    int first;
    int second;
};

class Counted {
  public:
    int count;
    Counted() : count(1) {}
    ~Counted() { total += count; }
    static int total;
};
int Counted::total = 0;

int main(int argc, char **argv) {
    const char *variant = argc > 1 ? argv[1] : "malloc";
    if (strcmp(variant, "malloc") == 0) {
        Pair *data = (Pair *)malloc(sizeof(Pair));
        data->first = 1;
        free(data);
        free(data);
    } else if (strcmp(variant, "new") == 0) {
        long *data = new long(5);
        delete data;
        delete data;
    } else if (strcmp(variant, "array") == 0) {
        wchar_t *data = new wchar_t[100];
        data[0] = L'A';
        delete[] data;
        delete[] data;
    } else if (strcmp(variant, "class") == 0) {
        Counted *data = new Counted;
        delete data;
        delete data;
    } else {
        Pair *pair = (Pair *)malloc(sizeof(Pair));
        free(pair);
        long *data = new long(5);
        delete data;
        wchar_t *wide = new wchar_t[100];
        delete[] wide;
        Counted *counted = new Counted;
        delete counted;
    }
    puts("done");
    return 0;
}
