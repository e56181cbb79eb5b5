// CWE-590 (free of memory not on the heap): a reduction of our own of Juliet's
// CWE590_Free_Memory_Not_on_Heap__free_{char,int,long,int64_t,struct,wchar_t}_{declare,static,
// alloca}_01.c and __delete{,_array}_*_{declare,static,alloca,placement_new}_01.cpp. "bad":
// free or delete of a stack array, a static array, an alloca block and an object built by
// placement new in a stack buffer (glibc aborts at the first: "free(): invalid pointer");
// "good": the same data copied into heap blocks first, and those released.
#include <alloca.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

struct Pair {
    int first;
    int second;
};

static long static_longs[100];

static void bad() {
    char declared[100];
    memset(declared, 'A', sizeof declared);
    free(declared);
    long *statics = static_longs;
    statics[0] = 1;
    free(statics);
    int *stacked = (int *)alloca(100 * sizeof(int));
    stacked[0] = 5;
    free(stacked);
    Pair pair = {1, 2};
    delete &pair;
    static Pair pairs[10];
    delete[] pairs;
    char buffer[sizeof(Pair)];
    Pair *placed = new (buffer) Pair;
    placed->first = 1;
    delete placed;
}

static void good() {
    char *declared = (char *)malloc(100);
    memset(declared, 'A', 100);
    free(declared);
    long *longs = (long *)malloc(sizeof static_longs);
    memcpy(longs, static_longs, sizeof static_longs);
    free(longs);
    Pair *pair = new Pair;
    pair->first = 1;
    delete pair;
    Pair *pairs = new Pair[10];
    delete[] pairs;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "good") == 0)
        good();
    else
        bad();
    puts("done");
    return 0;
}
