// new and delete used correctly, through the standard library and directly: no findings, and
// the same output as without gpa.
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

struct alignas(32) Vector4 {
    double lanes[4];
};

int main() {
    std::vector<int> numbers;
    for (int i = 0; i < 1000; i++) numbers.push_back(i);
    std::map<std::string, std::vector<int>> index;
    for (int i = 0; i < 100; i++) {
        std::string key = "key number " + std::to_string(i) + " with a long enough tail";
        index[key].assign(numbers.begin(), numbers.begin() + i);
    }
    auto owned = std::make_unique<std::string>(200, 'x');
    auto shared = std::make_shared<std::vector<double>>(50, 1.5);
    std::vector<Vector4> aligned(10);
    auto *array = new std::string[5];
    delete[] array;
    auto *one = new (std::nothrow) Vector4;
    delete one;
    try {
        throw std::string("an exception allocates too");
    } catch (const std::string &caught) {
        std::printf("caught %zu\n", caught.size());
    }
    std::printf("%zu %zu %zu %zu %zu\n", numbers.size(), index.size(), owned->size(),
                shared->size(), aligned.size());
    std::puts("done");
    return 0;
}
