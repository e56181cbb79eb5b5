#include "security.h"
/* No mistake: realloc up and down, calloc, malloc(0), huge requests that fail. The huge
 * request is SIZE_MAX / 2, not (size_t)-2: Valgrind 3.19 reports the latter as a mistake
 * ("Argument 'size' of function malloc has a fishy (possibly negative) value: -2", 1 error),
 * and so does gpa (fishy_value). With SIZE_MAX / 2 both report no error. */
int main(void) {
    char *block = get_block(BLOCK);
    fill_bytes(block, 1, BLOCK);
    block = realloc(block, 3 * BLOCK);
    fill_bytes(block, 2, 3 * BLOCK);
    block = realloc(block, BLOCK / 2 + 1);
    load_byte(block + BLOCK / 2);
    put_block(block);
    char *zeroed = calloc(BLOCK, 2);
    long sum = 0;
    for (int index = 0; index < 2 * BLOCK; index++)
        sum += zeroed[index];
    put_block(zeroed);
    put_block(get_block(0));
    void *huge = malloc((size_t)-1 / 2);
    printf("%ld %d\n", sum, huge == NULL);
    survived();
    return 0;
}
