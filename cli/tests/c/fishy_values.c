/* Allocation functions called with a negative int converted to size_t (a subtraction that
 * went below zero, an unchecked length). Each call fails as it would anyway; Valgrind
 * memcheck reports each as "Argument 'size' of function malloc has a fishy (possibly
 * negative) value: -1" at the call, and gpa said nothing: a clean report for a program with
 * these bugs.
 *
 * Valgrind 3.19 (valgrind --leak-check=full): 4 errors, malloc 'size' -1 (line 23), calloc
 * 'size' -1 (line 25: the count 0 makes it succeed), realloc 'size' -16 (line 28), memalign
 * 'size' -100 (line 31, Valgrind names the function that serves aligned_alloc so); none for
 * calloc(-1, -1) (line 26: the product overflows first), no leak. */
#include <stdio.h>
#include <stdlib.h>

static size_t length_of(int start, int end) {
    return (size_t)(end - start);
}

int main(void) {
    int failed = 0;
    char *kept = malloc(8);
    void *block;

    failed += malloc(length_of(1, 0)) == NULL;
    /* A zero count makes the request 0 bytes: it succeeds, and the size is still fishy. */
    block = calloc(0, length_of(1, 0));
    free(block);
    failed += calloc(length_of(1, 0), length_of(1, 0)) == NULL;
    if (realloc(kept, length_of(16, 0)) == NULL)
        failed++;
    free(kept);
    failed += aligned_alloc(64, length_of(100, 0)) == NULL;
    printf("done %d\n", failed);
    return 0;
}
