/* Guard mode: accesses to the alignment slack, the bytes between a block's end and its guard
 * page when its size is not a multiple of its alignment. One case per run:
 *   slack CASE SIZE [ALIGN]
 * Every case prints one line (values read, and whether blocks are aligned as C demands) and
 * exits 0 unless it says otherwise. The access under test is in a function of its own, named
 * after what it does, so that reports can be checked for the access site. */
#include <emmintrin.h>
#include <malloc.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *kept; /* a block live at exit */

__attribute__((noinline)) static int read_byte(const char *block, size_t index) {
    return block[index];
}

__attribute__((noinline)) static void write_byte(char *block, size_t index) {
    block[index] = 'x';
}

__attribute__((noinline)) static void copy_out(char *to, const char *block, size_t len) {
    memcpy(to, block, len);
}

__attribute__((noinline)) static void copy_in(char *block, const char *from, size_t len) {
    memcpy(block, from, len);
}

__attribute__((noinline)) static size_t length_of(const char *block) {
    return strlen(block);
}

__attribute__((noinline)) static void copy_string(char *block, const char *text) {
    strcpy(block, text);
}

/* A message with a 16-byte key read by an aligned SSE load (`movdqa`), followed by its text:
 * `malloc(sizeof (struct message) + length + 1)` has any size, and relies on malloc's 16-byte
 * alignment (C: the block is aligned for any type with a fundamental alignment that fits). */
struct message {
    __m128i key;
    char text[];
};

__attribute__((noinline)) static int load_key(const struct message *message) {
    __m128i key = _mm_load_si128(&message->key);
    return _mm_cvtsi128_si32(key);
}

/* `long double` and `max_align_t` members want 16-byte alignment. */
struct record {
    long double weight;
    max_align_t any;
    char name[];
};

static int aligned16(const void *block) {
    return (uintptr_t)block % 16 == 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: slack CASE SIZE [ALIGN]\n");
        return 2;
    }
    const char *name = argv[1];
    size_t size = strtoul(argv[2], NULL, 10);
    size_t align = argc > 3 ? strtoul(argv[3], NULL, 10) : 16;
    char buffer[256] = {0};
    char *block = NULL;
    if (!strcmp(name, "read")) {
        /* Valgrind: Invalid read of size 1, 0 bytes after a block of size SIZE alloc'd. */
        block = malloc(size);
        memset(block, 'a', size);
        printf("read %d\n", read_byte(block, size) != 0);
    } else if (!strcmp(name, "read_last")) {
        /* The last byte of the slack (the byte before the next 16-byte boundary). */
        block = malloc(size);
        size_t last = (size + 15) / 16 * 16 - 1;
        printf("read %d\n", read_byte(block, last) != 0);
    } else if (!strcmp(name, "write")) {
        /* Valgrind: Invalid write of size 1, 0 bytes after a block of size SIZE alloc'd. */
        block = malloc(size);
        write_byte(block, size);
        printf("wrote\n");
    } else if (!strcmp(name, "write_kept")) {
        /* As `write`, and the block is never freed (still reachable at exit). */
        kept = malloc(size);
        write_byte(kept, size);
        printf("wrote\n");
        return 0;
    } else if (!strcmp(name, "memcpy_read")) {
        /* Valgrind: Invalid read of size 1 in memcpy, 0 bytes after a block of size SIZE. */
        block = malloc(size);
        memset(block, 'a', size);
        copy_out(buffer, block, size + 1);
        printf("copied %d\n", buffer[0]);
    } else if (!strcmp(name, "memcpy_write")) {
        /* Valgrind: Invalid write of size 1 in memcpy, 0 bytes after a block of size SIZE. */
        block = malloc(size);
        memset(buffer, 'b', sizeof buffer);
        copy_in(block, buffer, size + 1);
        printf("copied %d\n", block[0]);
    } else if (!strcmp(name, "strlen")) {
        /* An unterminated buffer: Valgrind: Invalid read of size 1 in strlen, 0 bytes after a
         * block of size SIZE. What strlen returns depends on the bytes after the block. */
        block = malloc(size);
        memset(block, 'a', size);
        printf("length at least %d\n", length_of(block) >= size);
    } else if (!strcmp(name, "strcpy")) {
        /* Off by one: no room for the terminator. Valgrind: Invalid write of size 1 in strcpy,
         * 0 bytes after a block of size SIZE. */
        block = malloc(size);
        memset(buffer, 'c', size);
        buffer[size] = 0;
        copy_string(block, buffer);
        printf("copied %d\n", block[0]);
    } else if (!strcmp(name, "calloc")) {
        block = calloc(1, size);
        printf("read %d\n", read_byte(block, size) != 0);
    } else if (!strcmp(name, "realloc_grow")) {
        /* Grown from 1 byte: the new block is aligned as a fresh malloc of SIZE is. */
        block = malloc(1);
        block[0] = 'a';
        block = realloc(block, size);
        memset(block, 'a', size);
        printf("aligned %d read %d\n", aligned16(block), read_byte(block, size) != 0);
    } else if (!strcmp(name, "realloc_shrink")) {
        block = malloc(size + 64);
        memset(block, 'a', size + 64);
        block = realloc(block, size);
        printf("aligned %d read %d\n", aligned16(block), read_byte(block, size) != 0);
    } else if (!strcmp(name, "memalign")) {
        block = memalign(align, size);
        printf("aligned %d read %d\n", (uintptr_t)block % align == 0,
               read_byte(block, size) != 0);
    } else if (!strcmp(name, "aligned_alloc")) {
        block = aligned_alloc(align, size);
        printf("aligned %d read %d\n", (uintptr_t)block % align == 0,
               read_byte(block, size) != 0);
    } else if (!strcmp(name, "posix_memalign")) {
        void *memory = NULL;
        int error = posix_memalign(&memory, align, size);
        block = memory;
        printf("error %d aligned %d read %d\n", error, (uintptr_t)block % align == 0,
               read_byte(block, size) != 0);
    } else if (!strcmp(name, "usable")) {
        /* glibc: all malloc_usable_size bytes may be used. Valgrind's says SIZE (0 errors). */
        block = malloc(size);
        size_t usable = malloc_usable_size(block);
        memset(block, 'u', usable);
        printf("usable %zu\n", usable);
    } else if (!strcmp(name, "sse")) {
        /* No mistake: messages with SIZE bytes of text, grown by realloc, and records with
         * long double and max_align_t members: every block must be 16-byte aligned. */
        int sum = 0, misaligned = 0;
        for (size_t length = 0; length < size; length++) {
            struct message *message = malloc(sizeof *message + length + 1);
            misaligned += !aligned16(message);
            message->key = _mm_set1_epi32((int)length);
            memset(message->text, 't', length);
            message->text[length] = 0;
            sum += load_key(message);
            struct message *grown = realloc(message, sizeof *message + 2 * length + 1);
            misaligned += !aligned16(grown);
            sum += load_key(grown);
            free(grown);
            struct record *record = malloc(sizeof *record + length);
            misaligned += !aligned16(record) || (uintptr_t)record % alignof(max_align_t);
            record->weight = (long double)length;
            memset(&record->any, 0, sizeof record->any);
            sum += (int)record->weight;
            free(record);
        }
        printf("sum %d misaligned %d\n", sum, misaligned);
        return 0;
    } else {
        fprintf(stderr, "unknown case %s\n", name);
        return 2;
    }
    free(block);
    return 0;
}
