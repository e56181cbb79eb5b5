/* Reduced from mawk (Debian 1.3.4): the code buffer is shrunk by realloc; the structure that
 * described it (kept in mawk's own pool, so still allocated) keeps the old start address, and
 * the program keeps only an interior pointer to the new block. Valgrind's realloc always moves
 * the block, so the old address is dangling and the block is reached only through the interior
 * pointer. Valgrind 3.19: 168 bytes in 1 blocks possibly lost, 24 bytes in 1 blocks still
 * reachable. */
#include <stdlib.h>
#include <string.h>

struct buffer {
    char *base, *ptr, *limit;
};

struct buffer *pool;  /* mawk's pool: the described buffer stays allocated */
char *cursor;         /* an interior pointer into the shrunk block */

int main(void)
{
    pool = malloc(sizeof *pool);
    pool->base = malloc(1024);
    memset(pool->base, 'c', 1024);
    pool->ptr = pool->base + 168;
    pool->limit = pool->base + 1024;
    char *code = realloc(pool->base, 168);
    cursor = code + 160;
    return 0;
}
