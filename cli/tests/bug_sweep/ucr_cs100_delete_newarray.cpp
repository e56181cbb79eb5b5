// https://github.com/mikeizbicki/ucr-cs100/issues/922
// printa(): a 2-byte buffer from alporder() (new char[2]) released with delete, not delete[].
#include <cstdio>

static char *alporder(const char *name) {
    char *s = new char[2];
    s[0] = name[0];
    s[1] = 0;
    return s;
}

static void printa(const char *name) {
    char *first = alporder(name);
    std::printf("%s\n", first);
    delete first; // the bug
}

int main() { printa("ls"); }
