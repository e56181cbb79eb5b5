/* Stack-trace sweep: blocks allocated inside glibc (strdup, asprintf, getline, realloc,
   strndup), named as Valgrind names glibc's aliases. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *volatile sink;
int main(void)
{
    sink = strdup("hello, world");
    char *s;
    if (asprintf(&s, "%d %s", 42, "x") > 0) sink = s;
    FILE *f = fopen("/etc/hostname", "r");
    char *line = 0; size_t cap = 0;
    if (f) { getline(&line, &cap, f); sink = line; }
    sink = realloc(malloc(5), 500);
    sink = strndup("abcdef", 3);
    sink = 0;
    return 0;
}
