// https://github.com/KhronosGroup/glslang/pull/4301
// arguments.push_back(arguments[i - 1]) after a resize: a reference into the vector is read
// after the resize moved its storage (a 4-byte read after free).
#include <cstdio>
#include <vector>

int main() {
    std::vector<unsigned> arguments = {1, 2, 3, 4};
    arguments.shrink_to_fit();
    const unsigned &id = arguments[arguments.size() - 1];
    arguments.resize(arguments.size() + 1); // reallocates
    arguments[arguments.size() - 1] = id;   // the bug
    std::printf("%zu\n", arguments.size());
}
