/* Drops a 77-byte block, then empties its environment: the settings gpa run gave it must
 * still hold (report directory, exit status). */
#include <stdlib.h>
static void drop(void) { char *p = malloc(77); p[0] = 1; }
int main(void) { drop(); clearenv(); return 0; }
