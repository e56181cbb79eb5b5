/* Guard mode: a read after free, reported at the access; the program's buffered output up to
 * the fault is kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make_greeting(void) {
    char *text = malloc(100);
    strcpy(text, "hello");
    return text;
}

__attribute__((noinline)) static void drop_greeting(char *text) { free(text); }

__attribute__((noinline)) static int peek(const char *text) { return text[10]; }

int main(void) {
    char *text = make_greeting();
    printf("greeting: %s\n", text);
    drop_greeting(text);
    printf("peeked: %d\n", peek(text));
    return 0;
}
