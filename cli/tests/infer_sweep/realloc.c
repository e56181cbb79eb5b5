// Facebook Infer's Pulse tests for C (infer/tests/codetoanalyze/c/pulse/: realloc.c,
// memory_leak.c), the functions that do something at run time reduced to a program of our own:
// argv[1] names one case. Every run prints "done".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile int sunk;

static void use_original_after_realloc(void) {
  int *p = malloc(sizeof(int));
  int *q = realloc(p, 2 * sizeof(int));
  keep(p);
  *p = 42;
  free(q);
}
static void free_original_after_realloc(void) {
  int *p = malloc(sizeof(int));
  int *q = realloc(p, 2 * sizeof(int));
  free(q);
  keep(p);
  free(p);
}
static void realloc_after_free(void) {
  int *p = malloc(sizeof(int));
  free(p);
  keep(p);
  int *q = realloc(p, 2 * sizeof(int));
  free(q);
}
static void realloc_of_null_leak(void) {
  int *p = realloc(NULL, sizeof(int));
  keep(p);
}
static int grow_int_buffer(int **buf, size_t n) {
  int *tmp = realloc(*buf, n * sizeof(int));
  if (tmp == NULL)
    return -1;
  *buf = tmp;
  return 0;
}
static void grow_int_buffer_use_original(void) {
  int *buf = malloc(sizeof(int));
  int *old = buf;
  if (grow_int_buffer(&buf, 2) == 0) {
    keep(old);
    *old = 42;
  }
  free(buf);
}
static void realloc_moved_use_original(void) {
  char *p = malloc(16);
  char *q = realloc(p, 64);
  if (q != p) {
    keep(p);
    p[0] = 'a';
  }
  free(q);
}
struct pair {
  int a;
  int b;
};
static void realloc_moved_field_use_original(void) {
  struct pair *p = malloc(sizeof(struct pair));
  p->a = 1;
  struct pair *q = realloc(p, 2 * sizeof(struct pair));
  keep(p);
  sunk = p->a;
  free(q);
}
// glibc frees p in realloc(p, 0) and returns NULL.
static void realloc_zero_size_double_free(void) {
  int *p = malloc(sizeof(int));
  int *q = realloc(p, 0);
  if (q == NULL) {
    keep(p);
    free(p);
    return;
  }
  free(q);
}
static void realloc_zero_size(void) {
  int *p = malloc(sizeof(int));
  p = realloc(p, 0);
  free(p);
}
// memory_leak.c
static int *create_p(void) {
  int *p = malloc(sizeof(p));
  return p;
}
static void malloc_no_free(void) {
  int *p = malloc(sizeof(p));
  keep(p);
}
static void malloc_interproc_no_free(void) {
  int *p = create_p();
  keep(p);
}
static void realloc_ok(void) {
  int *p = malloc(sizeof(int));
  int *tmp = realloc(p, 2 * sizeof(int));
  p = tmp;
  p[1] = 42;
  free(p);
  int *buf = malloc(sizeof(int));
  for (int i = 1; i < 50; i++) {
    int *t = realloc(buf, (i + 1) * sizeof(int));
    buf = t;
    buf[i] = i;
  }
  free(buf);
  struct item {
    char *name;
    int id;
  } *items = malloc(sizeof(struct item));
  items[0].name = malloc(8);
  struct item *moved = realloc(items, 2 * sizeof(struct item));
  free(moved[0].name);
  free(moved);
  struct pair *pr = malloc(sizeof(struct pair));
  pr->a = 1;
  pr->b = 2;
  struct pair *pq = realloc(pr, 2 * sizeof(struct pair));
  sunk = pq->a + pq->b;
  free(pq);
  char *c = malloc(16);
  char *d = realloc(c, 64);
  if (d == c)
    d[0] = 'a';
  free(d);
  int *e = malloc(sizeof(int));
  grow_int_buffer(&e, 2);
  free(e);
  int *f = NULL;
  free(realloc(f, sizeof(int)));
  int *g = malloc(sizeof(p));
  *g = 5;
  free(g);
}

struct Case {
  const char *name;
  void (*run)(void);
};
static const struct Case cases[] = {
    {"use_original_after_realloc", use_original_after_realloc},
    {"free_original_after_realloc", free_original_after_realloc},
    {"realloc_after_free", realloc_after_free},
    {"realloc_of_null_leak", realloc_of_null_leak},
    {"grow_int_buffer_use_original", grow_int_buffer_use_original},
    {"realloc_moved_use_original", realloc_moved_use_original},
    {"realloc_moved_field_use_original", realloc_moved_field_use_original},
    {"realloc_zero_size_double_free", realloc_zero_size_double_free},
    {"realloc_zero_size", realloc_zero_size},
    {"malloc_no_free", malloc_no_free},
    {"malloc_interproc_no_free", malloc_interproc_no_free},
    {"realloc_ok", realloc_ok},
};

int main(int argc, char **argv) {
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
