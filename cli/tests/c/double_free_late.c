/* Planted bug: a double free after many other allocations and frees (make_victim). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static char *make_victim(void) { return malloc(24); }

int main(void) {
    char *victim = make_victim();
    free(victim);
    static char *kept[10000];
    for (int i = 0; i < 10000; i++) kept[i] = malloc(24 + i % 5 * 40);
    for (int i = 0; i < 2000; i++) free(malloc(3000)); /* pushes the victim out of quarantine */
    free(victim);
    for (int i = 0; i < 10000; i++) free(kept[i]);
    puts("late double free done");
    return 0;
}
