/* Leaks 33 bytes, then points the report variables elsewhere: the report must not move. */
#include <stdlib.h>
static void drop(void) { char *p = malloc(33); p[0] = 1; }
int main(int argc, char **argv) {
    drop();
    setenv("GPA_LOG", argc > 1 ? argv[1] : "/tmp/gpa-redirected.log", 1);
    setenv("GPA_JSON", argc > 1 ? argv[1] : "/tmp/gpa-redirected.json", 1);
    setenv("GPA_REPORT_DIR", "/tmp", 1);
    return 0;
}
