// CWE-416 (use after free): a reduction of our own of Juliet's
// CWE416_Use_After_Free__malloc_free_{char,int,long,struct,...}_01.c,
// __new_delete{,_array}_{char,class,...}_01.cpp and __return_freed_ptr_01.c. "bad": a freed
// string printed (read in puts), a freed int read directly, a freed class's member and a freed
// array's element read, and a helper that frees the string it returns; "good": the same reads
// before the release.
#include <cstdio>
#include <cstdlib>
#include <cstring>

class Pair {
  public:
    int first;
    int second;
};

static char *reversed_then_freed(const char *text) {
    size_t length = strlen(text);
    char *reversed = (char *)malloc(length + 1);
    for (size_t i = 0; i < length; i++)
        reversed[i] = text[length - i - 1];
    reversed[length] = '\0';
    free(reversed);
    return reversed;
}

static void bad() {
    char *text = (char *)malloc(100);
    memset(text, 'A', 99);
    text[99] = '\0';
    free(text);
    puts(text);
    int *number = (int *)malloc(100 * sizeof(int));
    number[0] = 5;
    free(number);
    printf("%d\n", number[0]);
    Pair *pair = new Pair;
    pair->first = 1;
    delete pair;
    printf("%d\n", pair->first);
    long *array = new long[100];
    array[0] = 7;
    delete[] array;
    printf("%ld\n", array[0]);
    puts(reversed_then_freed("BadSink"));
}

static void good() {
    char *text = (char *)malloc(100);
    memset(text, 'A', 99);
    text[99] = '\0';
    puts(text);
    free(text);
    Pair *pair = new Pair;
    pair->first = 1;
    printf("%d\n", pair->first);
    delete pair;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "good") == 0)
        good();
    else
        bad();
    puts("done");
    return 0;
}
