// https://github.com/e2guardian/e2guardian/issues/169
// fc_controlit(): the array returned by SocketArray::getFDAll() (new int[]) is released with
// free(): Mismatched free() / delete / delete [].
#include <cstdio>
#include <cstdlib>

struct SocketArray {
    int *getFDAll() {
        int *fds = new int[1];
        fds[0] = 3;
        return fds;
    }
};

int main() {
    SocketArray sa;
    int *fds = sa.getFDAll();
    std::printf("fd %d\n", fds[0]);
    free(fds); // the bug
}
