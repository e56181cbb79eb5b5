// Functions that g++ -O2 clones: a constant argument propagated (.constprop), an argument
// passed in pieces (.isra), and an unlikely branch moved away (.cold).
#include <cstdio>
#include <cstdlib>

static void *volatile sink;

__attribute__((noinline)) static void *constant_size(unsigned long size, int fill) {
    char *block = static_cast<char *>(malloc(size));
    block[0] = static_cast<char>(fill);
    return block;
}

struct Request {
    unsigned long size;
    char unused[64];
};

__attribute__((noinline)) static void *by_field(const Request &request) {
    return malloc(request.size);
}

__attribute__((cold, noinline)) void note(const char *what) { fputs(what, stderr); }

__attribute__((noinline)) void *rarely(int n) {
    if (n > 1000) {
        void *block = malloc(n);
        note("rare\n");
        return block;
    }
    return nullptr;
}

int main(int argc, char **) {
    sink = constant_size(48, 1);
    sink = constant_size(48, 1);
    Request request{static_cast<unsigned long>(60 + argc), {}};
    sink = by_field(request);
    sink = rarely(1000 + argc);
    sink = nullptr;
    return 0;
}
