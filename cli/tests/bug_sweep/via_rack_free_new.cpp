// https://github.com/starlingcode/Via-for-Rack/pull/42
// ~Sync3XL(): a 16-byte object made with new is released with free() in the destructor.
#include <cstdio>
#include <cstdlib>

struct Scale {
    double a, b;
};

struct Sync3XL {
    Scale *scale;
    Sync3XL() : scale(new Scale{1, 2}) {}
    ~Sync3XL() { free(scale); } // the bug
};

int main() {
    Sync3XL *m = new Sync3XL;
    std::printf("%g\n", m->scale->b);
    delete m;
}
