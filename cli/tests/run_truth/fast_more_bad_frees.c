/* Fast mode: a double free after other frees of the same page, a double free from another
 * thread, then 40 frees of a stack address (messages stop after 16); the heap stays usable. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
static void *shared;
static void *free_twice(void *arg) { (void)arg; free(shared); free(shared); return NULL; }
int main(void) {
    char *a = malloc(48), *b = malloc(48), *c = malloc(48);
    free(a); free(b); free(c); free(a);
    shared = malloc(80);
    pthread_t thread;
    pthread_create(&thread, NULL, free_twice, NULL);
    pthread_join(thread, NULL);
    int local;
    for (int i = 0; i < 40; i++) free((char *)&local + i * 0);
    void *r = malloc(48), *s = malloc(48), *u = malloc(48), *v = malloc(48);
    printf("distinct %d\n", r != s && s != u && u != v && r != u && r != v && s != v);
    return 0;
}
