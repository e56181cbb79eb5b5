// https://github.com/KhronosGroup/SPIRV-Tools/pull/226
// CFA traversal: `top` is a reference to staged.back(); staged.emplace_back() reallocates and
// `top` is then read and written (an iterator stored in the freed element storage).
#include <cstdio>
#include <vector>

struct block_info {
    int block;
    int iter;
};

int main() {
    std::vector<block_info> staged;
    staged.push_back({0, 0});
    block_info &top = staged.back();
    staged.emplace_back(block_info{1, 0}); // capacity 1 -> 2: moves the elements
    top.iter++;                            // the bug: read and write after free
    std::printf("%zu\n", staged.size());
}
