/* Under `gpa run --guard-sample N --guard-underflow`: rounds of allocating many small blocks
   (keeping sampled mode's pool of guarded slots busy, often full) and freeing most of them,
   counting the requests that fail. Nothing here may fail: natively and under Valgrind 3.19
   every malloc succeeds ("null: 0"), no error, all heap blocks freed. argv[1]: rounds
   (default 200); argv[2] "leak": the last round's blocks are left allocated (their pointers
   dropped), one loss record: Valgrind 3.19 with 200 rounds, "23,200 bytes in 200 blocks are
   definitely lost". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEPT 400

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    static char *blocks[KEPT];
    long failed = 0;
    for (int round = 0; round < rounds; ++round) {
        for (int i = 0; i < KEPT; ++i) {
            if (blocks[i]) continue;
            blocks[i] = malloc(16 + (size_t)(i * 7 + round) % 200);
            if (!blocks[i]) ++failed;
            else blocks[i][0] = 1;
        }
        for (int i = round % 3; i < KEPT; i += 1 + (round % 2)) {
            free(blocks[i]);
            blocks[i] = NULL;
        }
    }
    int leak = argc > 2 && !strcmp(argv[2], "leak");
    for (int i = 0; i < KEPT; ++i) {
        if (!leak) free(blocks[i]);
        blocks[i] = NULL;
    }
    printf("null: %ld\n", failed);
    return 0;
}
