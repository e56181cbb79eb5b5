// The SEI CERT C Coding Standard's memory rules (MEM30-36-C, ARR38-C, STR31-C, EXP33-C,
// FIO42-C, FIO46-C, ERR33-C): the mistakes of their noncompliant examples and the fixes of
// their compliant solutions, reduced to programs of our own: argv[1] names one case.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void keep(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile long sink;
static const char TEXT[] = "seventeen letters";

struct node {
  struct node *next;
  int value;
};
static struct node *make_list(int count) {
  struct node *head = NULL;
  for (int i = 0; i < count; i++) {
    struct node *n = malloc(sizeof *n);
    n->next = head;
    n->value = i;
    head = n;
  }
  return head;
}
// MEM30-C: a list freed by a loop that reads each node's link after freeing it.
static void mem30_list_free_loop(void) {
  struct node *p;
  for (p = make_list(3); p != NULL; p = p->next)
    free(p);
}
// MEM30-C: a buffer written after it was freed.
static void mem30_write_after_free(void) {
  char *buffer = malloc(32);
  keep(buffer);
  free(buffer);
  strcpy(buffer, TEXT);
}
// MEM30-C: realloc(p, 0) frees p (glibc), and p is freed again.
static void mem30_realloc_zero_then_free(void) {
  char *p = malloc(16);
  keep(p);
  char *q = realloc(p, 0);
  if (q == NULL)
    free(p);
  else
    free(q);
}
// MEM31-C: a block lost on return.
static void mem31_leak(void) {
  char *text = malloc(strlen(TEXT) + 1);
  strcpy(text, TEXT);
  keep(text);
}
// MEM34-C: a pointer to a string that was not allocated freed.
static void mem34_free_not_allocated(int argc, char **argv) {
  char *name = argc > 3 ? strdup(argv[2]) : (char *)TEXT;
  keep(name);
  free(name);
}
// MEM34-C: realloc() of a local array.
static void mem34_realloc_stack(void) {
  char buffer[64];
  keep(buffer);
  char *grown = realloc(buffer, 128);
  keep(grown);
}
// MEM35-C: a struct tm given the size of a pointer to it.
static void mem35_sizeof_pointer(void) {
  struct tm *t = malloc(sizeof(t));
  keep(t);
  t->tm_year = 126;
  t->tm_mday = 5;
  free(t);
}
// MEM35-C: an array of longs given a byte count instead of an element count.
static void mem35_count_not_bytes(void) {
  size_t count = 4;
  long *a = malloc(count);
  keep(a);
  for (size_t i = 0; i < count; i++)
    a[i] = (long)i;
  free(a);
}
// MEM35-C: a flexible array member without room for its elements.
struct flex {
  size_t count;
  int data[];
};
static void mem35_flexible_member(void) {
  size_t count = 3;
  struct flex *f = malloc(sizeof(struct flex) + count);
  keep(f);
  f->count = count;
  for (size_t i = 0; i < count; i++)
    f->data[i] = (int)i;
  free(f);
}
// MEM36-C: aligned_alloc's block grown by realloc (the copy need not keep the alignment).
static void mem36_realloc_aligned(void) {
  int *p = aligned_alloc(4096, 4096);
  keep(p);
  int *q = realloc(p, 8192);
  keep(q);
  free(q);
}
// ARR38-C: memset() one byte past the block.
static void arr38_memset_past(void) {
  size_t nchars = 20;
  char *p = malloc(nchars);
  keep(p);
  memset(p, 0, nchars + 1);
  free(p);
}
// ARR38-C: memcpy() of an element count in bytes times the element size, twice over.
static void arr38_memcpy_elements(void) {
  const int source[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t count = 4;
  int *p = malloc(count * sizeof(int));
  keep(p);
  memcpy(p, source, sizeof source);
  free(p);
}
// STR31-C: strcpy() into strlen() bytes (no room for the terminator).
static void str31_off_by_one(void) {
  char *copy = malloc(strlen(TEXT));
  keep(copy);
  strcpy(copy, TEXT);
  free(copy);
}
// EXP33-C: a malloc'd int read before it was written.
static void exp33_uninitialized(void) {
  int *p = malloc(sizeof *p);
  keep(p);
  if (*p > 0)
    sink = 1;
  free(p);
}
// FIO42-C: a stream left open (its FILE and buffer still reachable at exit).
static void fio42_not_closed(void) {
  FILE *f = fopen("/dev/null", "w");
  fputs(TEXT, f);
  keep(f);
}
// FIO46-C: a stream used after fclose() (its FILE freed).
static void fio46_after_fclose(void) {
  FILE *f = fopen("/dev/null", "r");
  keep(f);
  fclose(f);
  sink = ferror(f);
}
// ERR33-C: an allocation that fails, its result used unchecked.
static void err33_unchecked(void) {
  volatile size_t size = SIZE_MAX / 2;
  char *p = malloc(size);
  printf("%s\n", p == NULL ? "null" : "block");
  p[0] = 1;
}

// MEM31-C: p = realloc(p, n) that fails loses the old block.
static void mem31_realloc_failure_leak(void) {
  char *p = malloc(16);
  keep(p);
  volatile size_t size = SIZE_MAX / 2;
  p = realloc(p, size);
  puts(p == NULL ? "null" : "block");
  free(p);
}
// FIO46-C: a stream closed twice (its FILE read and freed again).
static void fio46_double_fclose(void) {
  FILE *f = fopen("/dev/null", "r");
  keep(f);
  fclose(f);
  fclose(f);
}
// STR31-C: sprintf() into a block too small for its output.
static void str31_sprintf_past(void) {
  char *out = malloc(8);
  keep(out);
  sprintf(out, "%d-%s", 12345, "abc");
  free(out);
}
// ARR38-C: strncpy() with a count larger than the block (it pads to the count).
static void arr38_strncpy_pad(void) {
  char *d = malloc(8);
  keep(d);
  strncpy(d, "abc", 16);
  free(d);
}

// The compliant solutions.
static void compliant(void) {
  struct node *p, *q;
  for (p = make_list(3); p != NULL; p = q) {
    q = p->next;
    free(p);
  }
  char *buffer = malloc(32);
  strcpy(buffer, TEXT);
  free(buffer);
  char *r = malloc(16);
  char *grown = realloc(r, 32);
  free(grown != NULL ? grown : r);
  char *text = malloc(strlen(TEXT) + 1);
  strcpy(text, TEXT);
  free(text);
  struct tm *t = malloc(sizeof *t);
  t->tm_year = 126;
  free(t);
  long *a = malloc(4 * sizeof *a);
  for (size_t i = 0; i < 4; i++)
    a[i] = (long)i;
  free(a);
  struct flex *f = malloc(sizeof(struct flex) + 3 * sizeof(int));
  for (size_t i = 0; i < 3; i++)
    f->data[i] = (int)i;
  free(f);
  int *aligned = aligned_alloc(4096, 4096);
  int *bigger = aligned_alloc(4096, 8192);
  memcpy(bigger, aligned, 4096);
  printf("aligned %d\n", (int)((uintptr_t)bigger % 4096 == 0));
  free(aligned);
  free(bigger);
  char *z = calloc(21, 1);
  memset(z, 0, 21);
  free(z);
  int *copy = malloc(4 * sizeof(int));
  const int source[4] = {1, 2, 3, 4};
  memcpy(copy, source, sizeof source);
  free(copy);
  char *s = malloc(strlen(TEXT) + 1);
  strcpy(s, TEXT);
  free(s);
  int *i = calloc(1, sizeof *i);
  sink = *i;
  free(i);
  FILE *stream = fopen("/dev/null", "w");
  fputs(TEXT, stream);
  fclose(stream);
  volatile size_t size = SIZE_MAX / 2;
  char *huge = malloc(size);
  puts(huge == NULL ? "null" : "block");
  free(huge);
  char *kept = malloc(16);
  char *larger = realloc(kept, size);
  free(larger != NULL ? larger : kept);
  char *line = malloc(16);
  snprintf(line, 16, "%d-%s", 12345, "abc");
  free(line);
  char *d = malloc(16);
  strncpy(d, "abc", 16);
  free(d);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  if (!strcmp(name, "mem30_list_free_loop"))
    mem30_list_free_loop();
  else if (!strcmp(name, "mem30_write_after_free"))
    mem30_write_after_free();
  else if (!strcmp(name, "mem30_realloc_zero_then_free"))
    mem30_realloc_zero_then_free();
  else if (!strcmp(name, "mem31_leak"))
    mem31_leak();
  else if (!strcmp(name, "mem34_free_not_allocated"))
    mem34_free_not_allocated(argc, argv);
  else if (!strcmp(name, "mem34_realloc_stack"))
    mem34_realloc_stack();
  else if (!strcmp(name, "mem35_sizeof_pointer"))
    mem35_sizeof_pointer();
  else if (!strcmp(name, "mem35_count_not_bytes"))
    mem35_count_not_bytes();
  else if (!strcmp(name, "mem35_flexible_member"))
    mem35_flexible_member();
  else if (!strcmp(name, "mem36_realloc_aligned"))
    mem36_realloc_aligned();
  else if (!strcmp(name, "arr38_memset_past"))
    arr38_memset_past();
  else if (!strcmp(name, "arr38_memcpy_elements"))
    arr38_memcpy_elements();
  else if (!strcmp(name, "str31_off_by_one"))
    str31_off_by_one();
  else if (!strcmp(name, "exp33_uninitialized"))
    exp33_uninitialized();
  else if (!strcmp(name, "fio42_not_closed"))
    fio42_not_closed();
  else if (!strcmp(name, "fio46_after_fclose"))
    fio46_after_fclose();
  else if (!strcmp(name, "err33_unchecked"))
    err33_unchecked();
  else if (!strcmp(name, "mem31_realloc_failure_leak"))
    mem31_realloc_failure_leak();
  else if (!strcmp(name, "fio46_double_fclose"))
    fio46_double_fclose();
  else if (!strcmp(name, "str31_sprintf_past"))
    str31_sprintf_past();
  else if (!strcmp(name, "arr38_strncpy_pad"))
    arr38_strncpy_pad();
  else if (!strcmp(name, "compliant"))
    compliant();
  else
    return 2;
  puts("done");
  return 0;
}
