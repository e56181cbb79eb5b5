// A stale pointer into a freed block, and later blocks of the same size (ruby's residue,
// docs/sweeps/debian_programs.md). Ruby reuses its object slots and VM frames without
// clearing them, so stale pointers into freed blocks stay in memory that is a root. Valgrind
// does not hand out a freed block's address again until 20 MB of later frees
// (`--freelist-vol`): the stale pointer points into a freed block and counts for nothing.
// gpa's check mode reuses an address once 256 KiB of later frees (its per-thread
// quarantine, `--quarantine`) pushed the block out: the stale pointer then points into a new
// block, which is possibly lost instead of lost.
//
// A 64-byte block is freed with a pointer 8 bytes into it kept in a global; 128 blocks of
// 4,000 bytes are allocated and freed (500 KiB), then a list of 64 blocks of 64 bytes is
// built and dropped.
#include <stdlib.h>

void *stale;

int main(void) {
    char *block = malloc(64);
    stale = block + 8;
    free(block);
    void *churn[128];
    for (int i = 0; i < 128; i++)
        churn[i] = malloc(4000);
    for (int i = 0; i < 128; i++)
        free(churn[i]);
    void **list = NULL;
    for (int i = 0; i < 64; i++) {
        void **node = malloc(64);
        node[0] = list;
        list = node;
    }
    list = NULL;
    return 0;
}
