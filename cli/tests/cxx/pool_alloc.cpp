// libstdc++'s pool allocator: one 24-byte block overflowed by a byte, one 40-byte block
// dropped. The pool carves blocks out of chunks of its own unless GLIBCXX_FORCE_NEW is set
// (Debian's valgrind wrapper sets it; gpa run sets it in check and guard modes). Valgrind
// 3.19: "Invalid write of size 1 ... 0 bytes after a block of size 24 alloc'd", 40 bytes in
// 1 blocks definitely lost.
#include <cstdio>
#include <cstring>
#include <ext/pool_allocator.h>

int main() {
    __gnu_cxx::__pool_alloc<char> pool;
    char *name = pool.allocate(24);
    memset(name, 'x', 24);
    name[24] = 0; // one byte past the block
    pool.deallocate(name, 24);
    char *dropped = pool.allocate(40);
    memset(dropped, 1, 40);
    dropped = nullptr;
    printf("pool done\n");
}
