/* Freed blocks of 64 KiB, whose interior pages check mode keeps inaccessible while they are
 * in its quarantine (`quarpages`): every use after free is reported, the program goes on, and
 * a program that churns such blocks stays clean.
 *
 *   read        read one byte 20000 bytes into a freed 65536-byte block
 *   write       write one byte 40000 bytes into it
 *   read8       read 8 bytes 30000 bytes into it
 *   head        write one byte 100 bytes into it (the block's first page: poisoned, not
 *               protected; gpa finds it when the block leaves the quarantine)
 *   sweep       read every 4096th byte of a freed 100000-byte block, from one instruction
 *   churn       64 rounds of 64 blocks of 65536 bytes (and 90000, 120000) written whole,
 *               freed, allocated again; calloc blocks on reused memory; realloc across the
 *               sizes; blocks freed by another thread
 * Each case prints `block ADDRESS SIZE` for the freed block and `done` at its end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make(size_t size) {
    char *block = malloc(size);
    memset(block, 'a', size);
    return block;
}

__attribute__((noinline)) static void release(char *block) { free(block); }

__attribute__((noinline)) static int peek(const char *p) { return *(const volatile char *)p; }

__attribute__((noinline)) static long peek8(const char *p) {
    return *(const volatile long *)p;
}

__attribute__((noinline)) static void poke(char *p) { *(volatile char *)p = 7; }

static void *free_all(void *arg) {
    char **blocks = arg;
    for (int i = 0; i < 16; i++) free(blocks[i]);
    return NULL;
}

static int churn(void) {
    static const size_t sizes[] = {65536, 90000, 120000};
    enum { N = 64 };
    static char *blocks[N];
    long bad = 0;
    for (int round = 0; round < 64; round++) {
        size_t size = sizes[round % 3];
        for (int i = 0; i < N; i++) {
            blocks[i] = malloc(size);
            memset(blocks[i], round, size);
        }
        for (int i = 0; i < N; i++) {
            bad += blocks[i][size / 2] != (char)round;
            free(blocks[i]);
        }
    }
    /* calloc on reused memory reads as zero. */
    for (int i = 0; i < N; i++) {
        blocks[i] = calloc(1, 65536);
        for (size_t at = 0; at < 65536; at += 512) bad += blocks[i][at] != 0;
    }
    /* realloc keeps the contents across the sizes. */
    for (int i = 0; i < N; i++) {
        blocks[i] = realloc(blocks[i], 120000);
        memset(blocks[i] + 65536, 'r', 120000 - 65536);
        blocks[i] = realloc(blocks[i], 70000);
        bad += blocks[i][60000] != 0 || blocks[i][69999] != 'r';
        free(blocks[i]);
    }
    /* Blocks freed by another thread. */
    for (int i = 0; i < 16; i++) blocks[i] = make(65536);
    pthread_t thread;
    pthread_create(&thread, NULL, free_all, blocks);
    pthread_join(thread, NULL);
    return bad;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "";
    if (!strcmp(which, "churn")) {
        printf("bad %d\n", churn());
        printf("done\n");
        return 0;
    }
    size_t size = !strcmp(which, "sweep") ? 100000 : 65536;
    char *block = make(size);
    release(block);
    printf("block %p %zu\n", (void *)block, size);
    fflush(stdout);
    if (!strcmp(which, "read")) {
        printf("read %d\n", peek(block + 20000));
    } else if (!strcmp(which, "write")) {
        poke(block + 40000);
    } else if (!strcmp(which, "read8")) {
        printf("read8 %ld\n", peek8(block + 30000) != 0);
    } else if (!strcmp(which, "head")) {
        poke(block + 100);
    } else if (!strcmp(which, "sweep")) {
        long sum = 0;
        for (size_t at = 0; at < size; at += 4096) sum += peek(block + at);
        printf("sum %ld\n", sum);
    }
    /* Push the block out of the quarantine (256 KiB) and use the heap again. */
    for (int i = 0; i < 8; i++) free(make(65536));
    printf("done\n");
    return 0;
}
