/* Leaks 56 bytes, then ends with _Exit(4). */
#include <stdlib.h>
static void leak_site(void) { char *p = malloc(56); p[0] = 1; }
int main(void) { leak_site(); _Exit(4); }
