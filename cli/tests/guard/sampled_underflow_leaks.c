/* One allocation site leaks many blocks under `gpa run --guard-sample 3 --guard-underflow`:
   about a third of them are guarded blocks (against their guard page, no front guard), the
   rest ordinary blocks with a 32-byte front guard, all in one loss record per site.
   argv[1]: how many blocks per site (default 60). Sites: malloc(100), calloc(25, 4) and
   malloc(5000) (a guarded extent of two pages), and realloc of 40 bytes grown to 200.
   Valgrind 3.19 with the default 60: "6,000 bytes in 60 blocks", "6,000 bytes in 60 blocks",
   "300,000 bytes in 60 blocks" and "12,000 bytes in 60 blocks are definitely lost", nothing
   else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 60;
    for (int i = 0; i < count; ++i) {
        char *block = malloc(100); /* line 18 */
        memset(block, 1, 100);
        sink = block;
    }
    for (int i = 0; i < count; ++i) {
        char *block = calloc(25, 4); /* line 23 */
        sink = block;
    }
    for (int i = 0; i < count; ++i) {
        char *block = malloc(5000); /* line 27 */
        memset(block, 2, 5000);
        sink = block;
    }
    for (int i = 0; i < count; ++i) {
        char *block = malloc(40);
        memset(block, 3, 40);
        block = realloc(block, 200); /* line 34 */
        memset(block, 4, 200);
        sink = block;
    }
    sink = NULL;
    puts("done");
    return 0;
}
