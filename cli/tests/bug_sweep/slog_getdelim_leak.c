/* https://github.com/kala13x/slog/issues/2
 * parse_config(): getline()'s buffer (120 bytes from getdelim) is never freed: definitely
 * lost; the strdup()ed file name kept in a global is still reachable. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fname;

static int parse_config(const char *path) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t len = 0;
    int n = 0;
    while (getline(&line, &len, f) != -1)
        n++;
    fclose(f);
    return n; /* the bug: line is not freed */
}

int main(void) {
    FILE *f = fopen("slog.cfg", "w");
    fputs("LOGLEVEL 3\nLOGTOFILE 0\n", f);
    fclose(f);
    fname = strdup("slog.cfg.log.example");
    printf("%d\n", parse_config("slog.cfg"));
    return 0;
}
