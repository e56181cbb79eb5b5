/* Leaks 66 bytes, then ends with quick_exit(5): only at_quick_exit hooks run. */
#include <stdlib.h>
static void leak_site(void) { char *p = malloc(66); p[0] = 1; }
int main(void) { leak_site(); quick_exit(5); }
