/* An allocation-heavy C workload for speed comparisons (docs/c_abi.md): a word-frequency
 * table with chained hash buckets and string keys, a binary tree built and torn down, and a
 * churn of random-size blocks, like an interpreter or a server would do.
 *
 *   gcc -O2 -g examples/c/alloc_workload.c -o /tmp/alloc_workload
 *   time /tmp/alloc_workload                          # glibc malloc
 *   time gpa run --fast -- /tmp/alloc_workload        # gpa, fast mode
 *   time gpa run -- /tmp/alloc_workload               # gpa, check mode
 *   time valgrind --tool=memcheck /tmp/alloc_workload # Valgrind memcheck
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

struct entry { struct entry *next; char *word; long count; };

#define BUCKETS 4096
static unsigned long hash(const char *s) {
    unsigned long h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h;
}

static long word_table(int words) {
    struct entry **table = calloc(BUCKETS, sizeof *table);
    char word[32];
    for (int i = 0; i < words; i++) {
        int len = 3 + (int)(next_random() % 8);
        for (int j = 0; j < len; j++) word[j] = (char)('a' + next_random() % 6);
        word[len] = 0;
        unsigned long b = hash(word) % BUCKETS;
        struct entry *e = table[b];
        while (e && strcmp(e->word, word) != 0) e = e->next;
        if (!e) {
            e = malloc(sizeof *e);
            e->word = strdup(word);
            e->count = 0;
            e->next = table[b];
            table[b] = e;
        }
        e->count++;
    }
    long distinct = 0;
    for (int b = 0; b < BUCKETS; b++) {
        struct entry *e = table[b];
        while (e) {
            struct entry *next = e->next;
            distinct++;
            free(e->word);
            free(e);
            e = next;
        }
    }
    free(table);
    return distinct;
}

struct node { struct node *left, *right; long value; };

static struct node *build(int depth) {
    struct node *n = malloc(sizeof *n);
    n->value = depth;
    n->left = depth > 0 ? build(depth - 1) : NULL;
    n->right = depth > 0 ? build(depth - 1) : NULL;
    return n;
}

static long walk_and_free(struct node *n) {
    if (!n) return 0;
    long sum = n->value + walk_and_free(n->left) + walk_and_free(n->right);
    free(n);
    return sum;
}

static long churn(int rounds) {
    enum { SLOTS = 4096 };
    char *slots[SLOTS] = {0};
    size_t sizes[SLOTS] = {0};
    long touched = 0;
    for (int i = 0; i < rounds; i++) {
        int k = (int)(next_random() % SLOTS);
        size_t size = 8 + next_random() % (next_random() % 16 == 0 ? 16384 : 256);
        if (slots[k] && next_random() % 4 == 0) {
            slots[k] = realloc(slots[k], size);
        } else {
            free(slots[k]);
            slots[k] = malloc(size);
        }
        sizes[k] = size;
        slots[k][0] = (char)i;
        slots[k][size - 1] = (char)i;
        touched += (unsigned char)slots[k][0];
    }
    for (int k = 0; k < SLOTS; k++) free(slots[k]);
    (void)sizes;
    return touched;
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 10;
    long distinct = 0, tree = 0, churned = 0;
    for (int round = 0; round < scale; round++) {
        distinct += word_table(200000);
        tree += walk_and_free(build(16));
        churned += churn(300000);
    }
    printf("distinct %ld tree %ld churn %ld\n", distinct, tree, churned);
    return 0;
}
