// https://github.com/pybind/pybind11/pull/3905
// strdup_guard did not follow the rule of three: its implicit copy constructor copies the
// vector of strdup()ed strings, and both copies free them (a double free of each string).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

struct strdup_guard {
    std::vector<char *> strings;
    char *operator()(const char *s) {
        char *t = strdup(s);
        strings.push_back(t);
        return t;
    }
    ~strdup_guard() {
        for (char *s : strings)
            free(s);
    }
};

int main() {
    strdup_guard guard;
    guard("__init__");
    {
        strdup_guard copy = guard; // the bug: a shallow copy
        std::printf("%s\n", copy.strings[0]);
    } // frees the string
    return 0; // guard frees it again
}
