// Built with -static-libstdc++ and its symbols kept private: this library's `new` and
// `delete` are its own copies, which call `malloc` and `free`.
extern "C" int *library_new() { return new int(5); }
extern "C" void library_delete(int *number) { delete number; }
