/* Ten million allocations (argv[1] of them) from a few sites, a few thousand live at a time:
 * the heap profile of a long run must stay small (sites aggregated, timeline sampled). */
#include <stdlib.h>

static void *slots[4096];

static void *small(unsigned long i) { return malloc(16 + i % 48); }
static void *medium(unsigned long i) { return malloc(256 + i % 512); }

int main(int argc, char **argv) {
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    unsigned long state = 88172645463325252ul;
    for (unsigned long i = 0; i < count; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        unsigned slot = state % 4096;
        free(slots[slot]);
        slots[slot] = (state >> 20) % 8 == 0 ? medium(i) : small(i);
    }
    for (int slot = 0; slot < 4096; slot++)
        free(slots[slot]);
    return 0;
}
