// https://github.com/llvm/llvm-project/issues/17476 (and nasa/trick#1093, xrootd/xrootd#1368)
// const char *foo = returnsString().c_str(): the temporary is destroyed at the end of the
// statement. A 20-character string lives on the heap: printf reads freed memory. A short one
// (xrootd's "ABC") lives in the string object itself (small-string optimization): no heap
// block is involved, and neither tool can see it.
#include <cstdio>
#include <string>

static std::string returnsString() { return "arstarstarstarstarst"; }
static std::string shortString() { return "ABC"; }

int main() {
    const char *s = shortString().c_str();
    std::printf("%d\n", s[0] != 0);
    const char *foo = returnsString().c_str();
    std::printf("This is a use after free %.20s\n", foo); // the bug
}
