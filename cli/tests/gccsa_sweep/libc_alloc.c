// Blocks libc allocates for the caller, and frees of memory no allocator handed out: the
// shapes of GCC's -fanalyzer tests (malloc-1.c's free of non-heap memory, getline/getcwd/
// realpath results in the analyzer's known-function tests, calloc-1.c), reduced to programs of
// our own: argv[1] names one case.
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static char **saved_argv;
static char table[64];

// getline's buffer, grown inside libc, leaked.
static void getline_leak(void) {
  char text[] = "one line\n";
  FILE *f = fmemopen(text, strlen(text), "r");
  char *line = NULL;
  size_t n = 0;
  if (getline(&line, &n, f) > 0)
    keep(line);
  fclose(f);
}
// getcwd(NULL, 0)'s block leaked (in "/", whatever the directory the run starts in).
static void getcwd_leak(void) { keep(chdir("/") == 0 ? getcwd(NULL, 0) : NULL); }
// realpath(path, NULL)'s block leaked.
static void realpath_leak(void) { keep(realpath("/", NULL)); }
// free of an anonymous mapping.
static void free_mmap(void) {
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  keep(p);
  free(p);
  munmap(p, 4096);
}
// free of the program's own argv[0] (the strings the kernel put above the stack).
static void free_argv(void) { free(saved_argv[0]); }
// free of a pointer into a static array.
static void free_bss_interior(void) {
  keep(table);
  free(table + 8);
}
// calloc whose count times size overflows: a null pointer, no block.
static void calloc_overflow(void) {
  void *p = calloc(SIZE_MAX / 2, 4);
  keep(p);
  puts(p ? "block" : "null");
  free(p);
}
// The no-warning forms together.
static void good(void) {
  char text[] = "one line\n";
  FILE *f = fmemopen(text, strlen(text), "r");
  char *line = NULL;
  size_t n = 0;
  if (getline(&line, &n, f) > 0)
    free(line);
  fclose(f);
  free(getcwd(NULL, 0));
  free(realpath("/", NULL));
}

static const struct {
  const char *name;
  void (*run)(void);
} cases[] = {
    {"getline_leak", getline_leak},
    {"getcwd_leak", getcwd_leak},
    {"realpath_leak", realpath_leak},
    {"free_mmap", free_mmap},
    {"free_argv", free_argv},
    {"free_bss_interior", free_bss_interior},
    {"calloc_overflow", calloc_overflow},
    {"good", good},
};

int main(int argc, char **argv) {
  saved_argv = argv;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (argc > 1 && strcmp(argv[1], cases[i].name) == 0) {
      cases[i].run();
      puts("done");
      return 0;
    }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    puts(cases[i].name);
  return 2;
}
