/* espresso: the allocation pattern of a logic minimizer (after the espresso program of
 * mimalloc-bench). Boolean functions are covers: lists of cubes, each cube a small malloc'd
 * bit set with two bits per variable, as in espresso's positional cube notation. The program
 * complements random covers by recursive Shannon expansion (espresso's central recursion):
 * split on the most binate variable, build both cofactors, complement each recursively, merge
 * the results and drop contained cubes. Blocks are allocated and freed at every depth of a
 * recursion that runs twenty levels deep through two call sites, so the calling contexts of
 * allocations are many (a stress test for stack-trace capture). */
#include "common.h"

enum { VARS = 20, WORDS = (2 * VARS + 31) / 32, CUBES = 24, ROUNDS = 1500 };

typedef struct {
    uint32_t bits[WORDS];
} cube_t;

typedef struct {
    int count, capacity;
    cube_t **cubes;
} cover_t;

static unsigned long cubes_made;

static cover_t *cover_new(int capacity) {
    cover_t *c = check_ptr(malloc(sizeof *c), "cover");
    c->count = 0;
    c->capacity = capacity < 4 ? 4 : capacity;
    c->cubes = check_ptr(malloc((size_t)c->capacity * sizeof *c->cubes), "cube list");
    return c;
}

static void cover_add(cover_t *c, const cube_t *cube) {
    if (c->count == c->capacity) {
        c->capacity *= 2;
        c->cubes = check_ptr(realloc(c->cubes, (size_t)c->capacity * sizeof *c->cubes), "cube list");
    }
    cube_t *copy = check_ptr(malloc(sizeof *copy), "cube");
    *copy = *cube;
    c->cubes[c->count++] = copy;
    cubes_made++;
}

static void cover_free(cover_t *c) {
    for (int i = 0; i < c->count; i++) free(c->cubes[i]);
    free(c->cubes);
    free(c);
}

/* The two bits of variable v: 1 = negative literal, 2 = positive literal, 3 = don't care. */
static unsigned var_get(const cube_t *c, int v) { return (c->bits[v / 16] >> (2 * (v % 16))) & 3; }

static void var_set(cube_t *c, int v, unsigned value) {
    c->bits[v / 16] = (c->bits[v / 16] & ~(3u << (2 * (v % 16)))) | (value << (2 * (v % 16)));
}

static void cube_universe(cube_t *c) {
    for (int v = 0; v < VARS; v++) var_set(c, v, 3);
}

static int cube_is_universe(const cube_t *c) {
    for (int v = 0; v < VARS; v++)
        if (var_get(c, v) != 3) return 0;
    return 1;
}

/* Whether a contains b (every literal of a is also in b). */
static int cube_contains(const cube_t *a, const cube_t *b) {
    for (int w = 0; w < WORDS; w++)
        if ((a->bits[w] & b->bits[w]) != b->bits[w]) return 0;
    return 1;
}

/* The cofactor of f with respect to variable v taking value `value` (1 or 2). */
static cover_t *cofactor(const cover_t *f, int v, unsigned value) {
    cover_t *r = cover_new(f->count);
    for (int i = 0; i < f->count; i++) {
        unsigned bits = var_get(f->cubes[i], v);
        if (bits & value) {
            cube_t copy = *f->cubes[i];
            var_set(&copy, v, 3);
            cover_add(r, &copy);
        }
    }
    return r;
}

static int most_binate(const cover_t *f) {
    int best = -1, best_count = -1;
    for (int v = 0; v < VARS; v++) {
        int neg = 0, pos = 0;
        for (int i = 0; i < f->count; i++) {
            unsigned bits = var_get(f->cubes[i], v);
            neg += bits == 1;
            pos += bits == 2;
        }
        int count = neg + pos + (neg && pos ? f->count : 0);
        if (count > best_count) {
            best_count = count;
            best = v;
        }
    }
    return best;
}

/* Removes cubes contained in another cube of the cover. */
static void drop_contained(cover_t *c) {
    int kept = 0;
    for (int i = 0; i < c->count; i++) {
        int contained = 0;
        for (int j = 0; j < c->count && !contained; j++)
            if (j != i && c->cubes[j] != NULL && cube_contains(c->cubes[j], c->cubes[i]))
                contained = 1;
        if (contained) {
            free(c->cubes[i]);
            c->cubes[i] = NULL;
        }
    }
    for (int i = 0; i < c->count; i++)
        if (c->cubes[i] != NULL) c->cubes[kept++] = c->cubes[i];
    c->count = kept;
}

static cover_t *complement(const cover_t *f);

static cover_t *complement_single(const cube_t *c) {
    cover_t *r = cover_new(VARS);
    for (int v = 0; v < VARS; v++) {
        unsigned bits = var_get(c, v);
        if (bits != 3) {
            cube_t literal;
            cube_universe(&literal);
            var_set(&literal, v, bits ^ 3);
            cover_add(r, &literal);
        }
    }
    return r;
}

static void merge_into(cover_t *r, const cover_t *part, int v, unsigned value) {
    for (int i = 0; i < part->count; i++) {
        cube_t copy = *part->cubes[i];
        var_set(&copy, v, var_get(&copy, v) & value);
        cover_add(r, &copy);
    }
}

static cover_t *complement_positive(const cover_t *f, int v) {
    cover_t *half = cofactor(f, v, 2);
    cover_t *r = complement(half);
    cover_free(half);
    return r;
}

static cover_t *complement_negative(const cover_t *f, int v) {
    cover_t *half = cofactor(f, v, 1);
    cover_t *r = complement(half);
    cover_free(half);
    return r;
}

static cover_t *complement(const cover_t *f) {
    if (f->count == 0) {
        cover_t *r = cover_new(1);
        cube_t all;
        cube_universe(&all);
        cover_add(r, &all);
        return r;
    }
    for (int i = 0; i < f->count; i++)
        if (cube_is_universe(f->cubes[i])) return cover_new(1);
    if (f->count == 1) return complement_single(f->cubes[0]);
    int v = most_binate(f);
    cover_t *positive = complement_positive(f, v);
    cover_t *negative = complement_negative(f, v);
    cover_t *r = cover_new(positive->count + negative->count);
    merge_into(r, positive, v, 2);
    merge_into(r, negative, v, 1);
    cover_free(positive);
    cover_free(negative);
    drop_contained(r);
    return r;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    long rounds = scaled(ROUNDS, scale, 2);
    uint64_t seed = 0xe5e5;
    unsigned long total = 0;
    for (long round = 0; round < rounds; round++) {
        cover_t *f = cover_new(CUBES);
        for (int i = 0; i < CUBES; i++) {
            cube_t c;
            cube_universe(&c);
            for (int v = 0; v < VARS; v++) {
                uint64_t r = rng_below(&seed, 10);
                if (r < 2) var_set(&c, v, 1 + (unsigned)r);
            }
            cover_add(f, &c);
        }
        cover_t *c = complement(f);
        total += (unsigned long)c->count;
        cover_free(c);
        cover_free(f);
    }
    printf("espresso: %ld covers complemented, %lu cubes in the complements, %lu cubes made\n",
           rounds, total, cubes_made);
    return 0;
}
