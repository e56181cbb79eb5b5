#include "security.h"
/* No mistake: up to 4096 live blocks (64 MiB at most), filled, checked and freed in another
 * order. */
#define COUNT ((64 << 20) / BLOCK < 4096 ? (64 << 20) / BLOCK : 4096)
int main(void) {
    static char *blocks[COUNT];
    for (int index = 0; index < COUNT; index++) {
        blocks[index] = get_block(BLOCK);
        fill_bytes(blocks[index], index, BLOCK);
    }
    long sum = 0;
    for (int index = COUNT - 1; index >= 0; index--) {
        sum += load_byte(blocks[index] + BLOCK - 1);
        put_block(blocks[index]);
    }
    printf("%ld\n", sum);
    survived();
    return 0;
}
