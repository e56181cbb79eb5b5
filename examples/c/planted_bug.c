/* A small program with two planted memory bugs, for `gpa run` (see README and
 * docs/c_abi.md):
 *
 *   1. copy_word() allocates strlen(word) bytes and strcpy()s the word into it: the
 *      terminating NUL lands one byte past the end of the block (heap buffer overflow);
 *   2. main() drops the word list without freeing it when it is asked to count only (leak).
 *
 * glibc's malloc notices neither; the program prints the right answer and exits 0.
 *
 *   sh examples/c/run_planted_bug.sh
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word_list {
    char **words;
    size_t len, cap;
};

static char *copy_word(const char *word) {
    char *copy = malloc(strlen(word)); /* BUG 1: no room for the terminating NUL */
    strcpy(copy, word);
    return copy;
}

static void push_word(struct word_list *list, const char *word) {
    if (list->len == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 4;
        list->words = realloc(list->words, list->cap * sizeof *list->words);
    }
    list->words[list->len++] = copy_word(word);
}

static struct word_list *split(const char *text) {
    struct word_list *list = calloc(1, sizeof *list);
    char buffer[256];
    snprintf(buffer, sizeof buffer, "%s", text);
    for (char *word = strtok(buffer, " "); word; word = strtok(NULL, " ")) push_word(list, word);
    return list;
}

static void free_list(struct word_list *list) {
    for (size_t i = 0; i < list->len; i++) free(list->words[i]);
    free(list->words);
    free(list);
}

int main(int argc, char **argv) {
    const char *text = argc > 1 ? argv[1] : "the quick brown fox jumps over the lazy dog";
    struct word_list *list = split(text);
    size_t longest = 0;
    for (size_t i = 0; i < list->len; i++) {
        size_t length = strlen(list->words[i]);
        if (length > longest) longest = length;
    }
    printf("%zu words, the longest has %zu letters\n", list->len, longest);
    if (argc > 2) free_list(list); /* BUG 2: without a second argument the list leaks */
    return 0;
}
