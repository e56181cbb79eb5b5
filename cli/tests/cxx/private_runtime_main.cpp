// Blocks crossing between the program's `new`/`delete` (gpa's) and a library's private copy
// of the C++ runtime: each pair matches, though gpa sees `malloc` for the library's `new`
// and `free` for its `delete`.
#include <cstdio>

extern "C" int *library_new();
extern "C" void library_delete(int *);

int main() {
    int *from_library = library_new();
    delete from_library;
    int *from_program = new int(6);
    library_delete(from_program);
    std::puts("done");
    return 0;
}
