/* The program of onexit_mix_so.c: it registers one more `on_exit` function, which prints
 * the status it is passed, and calls `exit(3)`. Valgrind 3.19: all heap blocks were freed;
 * "main: on_exit status 3"; exit status 3. */
#include <stdio.h>
#include <stdlib.h>

int onexit_mix_count(void);

static void report_status(int status, void *argument) {
    printf("main: on_exit status %d (%s)\n", status, (const char *)argument);
    fflush(stdout);
}

int main(void) {
    on_exit(report_status, "passed through");
    printf("registered; %d freed so far\n", onexit_mix_count());
    exit(3);
}
