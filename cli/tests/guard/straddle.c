/* Guard mode: accesses that start inside a block (or in its alignment slack) and reach past
 * its end into the guard page. argv[1] names one case; each access is on its own line, its
 * block freed after. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile int64_t sink;
static volatile size_t eight = 8;

/* An 8-byte store at the start of a 4-byte block. */
__attribute__((noinline)) static void store8_in4(void) {
  char *p = malloc(4);
  keep(p);
  *(volatile int64_t *)p = 42;
  free(p);
}
/* An 8-byte load 1 byte into a 4-byte block (misaligned: an aligned one Valgrind accepts,
 * --partial-loads-ok=yes). */
__attribute__((noinline)) static void load8_in4(void) {
  char *p = malloc(4);
  keep(p);
  sink = *(volatile int64_t *)(p + 1);
  free(p);
}
/* An 8-byte store 8 bytes into a 12-byte block. */
__attribute__((noinline)) static void store8_in12(void) {
  char *p = malloc(12);
  keep(p);
  *(volatile int64_t *)(p + 8) = 42;
  free(p);
}
/* An 8-byte load 6 bytes into a 12-byte block (misaligned). */
__attribute__((noinline)) static void load8_in12(void) {
  char *p = malloc(12);
  keep(p);
  sink = *(volatile int64_t *)(p + 6);
  free(p);
}
/* A 16-byte SSE store (movups) at the start of an 8-byte block. */
__attribute__((noinline)) static void sse_store16_in8(void) {
  char *p = malloc(8);
  keep(p);
  _mm_storeu_si128((__m128i *)p, _mm_set1_epi8(1));
  keep(p);
  free(p);
}
/* A 32-byte AVX store (vmovdqu) 8 bytes into a 24-byte block. */
__attribute__((noinline, target("avx"))) static void avx_store32_in24(void) {
  char *p = malloc(24);
  keep(p);
  _mm256_storeu_si256((__m256i *)(p + 8), _mm256_set1_epi8(1));
  keep(p);
  free(p);
}
/* memcpy of 8 bytes into a 4-byte block. */
__attribute__((noinline)) static void memcpy8_in4(void) {
  char *p = malloc(4);
  keep(p);
  int64_t value = 42;
  memcpy(p, &value, eight);
  keep(p);
  free(p);
}

static const struct {
  const char *name;
  void (*run)(void);
} cases[] = {
    {"store8_in4", store8_in4},           {"load8_in4", load8_in4},
    {"store8_in12", store8_in12},         {"load8_in12", load8_in12},
    {"sse_store16_in8", sse_store16_in8}, {"avx_store32_in24", avx_store32_in24},
    {"memcpy8_in4", memcpy8_in4},
};

int main(int argc, char **argv) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (argc > 1 && strcmp(argv[1], cases[i].name) == 0) {
      cases[i].run();
      puts("done");
      return 0;
    }
  return 2;
}
