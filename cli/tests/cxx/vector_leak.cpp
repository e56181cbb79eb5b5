// A vector grown by the user's function, whose holder is then released without destroying it:
// the vector's buffer is lost.
#include <cstdio>
#include <new>
#include <vector>

__attribute__((noinline)) void fill(std::vector<int> &numbers) {
    for (int i = 0; i < 100; i++) numbers.push_back(i);
}

int main() {
    auto *holder = new std::vector<int>();
    fill(*holder);
    std::printf("%zu\n", holder->size());
    ::operator delete(holder); // the destructor never runs
    std::puts("done");
    return 0;
}
