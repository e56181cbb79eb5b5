/* Built with gcc -static: no dynamic loader, so LD_PRELOAD never applies. Leaks 100 bytes
 * (which Valgrind cannot see either: its malloc replacement needs the loader too). */
#include <stdio.h>
#include <stdlib.h>
static void leak_site(void) { char *p = malloc(100); p[0] = 1; }
int main(void) { leak_site(); puts("static done"); return 0; }
