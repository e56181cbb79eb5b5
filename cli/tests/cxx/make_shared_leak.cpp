// A leaked copy of a std::shared_ptr<std::vector<long>>: the vector's 800-byte storage is
// allocated under a chain of libstdc++ templates deeper than the 8 frames gpa keeps.
#include <memory>
#include <vector>

int main() {
    auto shared = std::make_shared<std::vector<long>>(100);
    new std::shared_ptr<std::vector<long>>(shared); // never deleted
    return 0;
}
