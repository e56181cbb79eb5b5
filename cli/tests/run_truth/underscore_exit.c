/* Leaks 55 bytes, then ends with _exit(3): no atexit hook runs. */
#include <stdlib.h>
#include <unistd.h>
static void leak_site(void) { char *p = malloc(55); p[0] = 1; }
int main(void) { leak_site(); _exit(3); }
