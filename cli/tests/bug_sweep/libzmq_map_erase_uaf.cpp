// https://github.com/zeromq/libzmq/pull/1771
// "Valgrind reports read of freed memory": a std::map is iterated while elements are
// conditionally erased; the erased iterator is then incremented (a read of the freed node).
#include <cstdio>
#include <map>

int main() {
    std::map<int, int> endpoints = {{1, 10}, {2, 20}, {3, 30}, {4, 40}};
    int kept = 0;
    for (auto it = endpoints.begin(); it != endpoints.end(); ++it) { // the bug: ++ of an erased it
        if (it->first == 2)
            endpoints.erase(it);
        else
            kept++;
    }
    std::printf("%d %zu\n", kept, endpoints.size());
}
