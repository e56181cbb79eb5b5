/* No mistake: lists, strings, realloc growth and threads, under guard mode. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char name[24];
};

static void *worker(void *argument) {
    long total = 0;
    for (int round = 0; round < 2000; round++) {
        char *text = malloc(1 + round % 300);
        memset(text, 'a', 1 + round % 300);
        total += text[round % 300];
        free(text);
    }
    return (void *)total;
}

int main(void) {
    struct node *list = NULL;
    for (int index = 0; index < 1000; index++) {
        struct node *node = malloc(sizeof *node);
        snprintf(node->name, sizeof node->name, "node %d", index);
        node->next = list;
        list = node;
    }
    char *grown = NULL;
    size_t length = 0;
    for (int index = 0; index < 200; index++) {
        grown = realloc(grown, length + 17);
        memset(grown + length, 'b', 17);
        length += 17;
    }
    pthread_t threads[2];
    for (int index = 0; index < 2; index++)
        pthread_create(&threads[index], NULL, worker, NULL);
    long total = 0;
    for (int index = 0; index < 2; index++) {
        void *result;
        pthread_join(threads[index], &result);
        total += (long)result;
    }
    int count = 0;
    while (list != NULL) {
        struct node *next = list->next;
        count += strlen(list->name) > 0;
        free(list);
        list = next;
    }
    free(grown);
    printf("%d %zu %ld\n", count, length, total);
    return 0;
}
