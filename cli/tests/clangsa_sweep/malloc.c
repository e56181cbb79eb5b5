// The C heap misused: the Clang Static Analyzer's MallocChecker tests
// (clang/test/Analysis/malloc.c, Malloc+MismatchedDeallocator+NewDelete.cpp), reduced to
// programs of our own: argv[1] names one case.
#define _GNU_SOURCE
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static int sink;
static __attribute__((noinline)) void myfoo(int *p) { sink = *p; }

static void leak_return(void) {
  int *p = malloc(12);
  keep(p);
}
static void double_free(void) {
  int *p = malloc(12);
  keep(p);
  free(p);
  free(p);
}
static void realloc_zero_twice(void) {
  int *p = malloc(12);
  keep(p);
  keep(realloc(p, 0));
  keep(realloc(p, 0));
}
static void realloc_zero_then_free(void) {
  char *p = malloc(12);
  char *r = realloc(p, 0);
  if (!r) {
    free(p);
  } else {
    free(r);
  }
  free(p);
}
static void realloc_null_leak(void) {
  char *r = realloc(0, 12);
  keep(r);
}
static void realloc_fails_leak(void) {
  char *buf = malloc(100);
  char *buf2 = realloc(buf, (size_t)1 << 40);
  if (!buf2) {
    return;
  }
  free(buf2);
}
static void realloc_fails_huge_leak(void) {
  char *buf = malloc(100);
  char *buf2 = realloc(buf, (size_t)1 << 50);
  if (!buf2) {
    return;
  }
  free(buf2);
}
static void zero_malloc_write(void) {
  int *p = malloc(0);
  keep(p);
  *p = 1;
  free(p);
}
static void zero_calloc_write(void) {
  int *p = calloc(0, 2);
  keep(p);
  *p = 1;
  free(p);
}
static void zero_realloc_null_write(void) {
  int *p = realloc(0, 0);
  keep(p);
  *p = 1;
  free(p);
}
static void zero_valloc_read(void) {
  char *p = valloc(0);
  keep(p);
  sink = *p;
  free(p);
}
static void write_after_free(void) {
  char *x = malloc(4);
  keep(x);
  free(x);
  x[0] = 'a';
}
static void strndup_after_free(void) {
  char *x = malloc(4);
  strcpy(x, "abc");
  free(x);
  char *y = strndup(x, 4);
  free(y);
}
static void write_after_realloc_zero(void) {
  char *x = malloc(4);
  keep(x);
  keep(realloc(x, 0));
  x[0] = 'a';
}
static void calloc_leak(void) {
  char *buf = calloc(2, 2);
  keep(buf);
}
static void read_after_free_param(int *p) {
  myfoo(p);
  free(p);
  myfoo(p);
}
static void param_free(void) {
  int *p = malloc(sizeof(int));
  *p = 3;
  read_after_free_param(p);
}
static void alloca_free(void) {
  int *p = alloca(sizeof(int));
  keep(p);
  free(p);
}
static void alloca_align_free(void) {
  int *p = __builtin_alloca_with_align(sizeof(int), 64);
  keep(p);
  free(p);
}
static void malloc_malloc(void) {
  int *p = malloc(12);
  keep(p);
  p = malloc(12);
  keep(p);
}
struct StructWithInt { int g; };
static int read_after_free_struct(void) {
  struct StructWithInt *px = malloc(sizeof(struct StructWithInt));
  px->g = 5;
  free(px);
  return px->g;
}
static void read_after_free_struct_case(void) { sink = read_after_free_struct(); }
static void valloc_leak(void) {
  char *mem = valloc(12);
  keep(mem);
}
static int *Gl;
struct GlStTy { int *x; };
static struct GlStTy GlS;
static char *ArrayG[12];
static void global_reachable(void) {
  Gl = malloc(12);
  GlS.x = malloc(12);
  ArrayG[0] = malloc(12);
}
typedef struct { int *memP; } StructWithPtr;
static void struct_leak(void) {
  StructWithPtr St;
  St.memP = malloc(12);
  keep(&St);
}
struct X { int *p; };
static struct X *give_up(void) {
  int *p = malloc(12);
  struct X *px = malloc(sizeof(struct X));
  px->p = p;
  return px;
}
static void indirect_leak(void) { keep(give_up()); }
static void malloc_into_malloc(void) {
  StructWithPtr *s = malloc(sizeof(StructWithPtr));
  s->memP = malloc(sizeof(int));
  free(s);
}
static void offset_free(void) {
  int64_t *array = malloc(sizeof(int64_t) * 2);
  keep(array);
  array += 1;
  free(&array[0]);
}
static void negative_offset_free(void) {
  char *r = malloc(sizeof(char));
  keep(r);
  r = r - 10;
  free(r);
}
static void local_free(void) {
  char c;
  char *r = &c;
  keep(r);
  free(r + 1);
}
static void offset_zero_double_free(void) {
  int *array = malloc(sizeof(int) * 2);
  int *p = &array[0];
  keep(p);
  free(p);
  free(&array[0]);
}
static void strlen_then_offset_free(void) {
  char *string = malloc(sizeof(char) * 10);
  strcpy(string, "clang");
  string += 1;
  sink = strlen(string);
  free(string);
}
static void function_free(void) {
  void (*fnptr)(void) = function_free;
  keep(&fnptr);
  free((void *)fnptr);
}
static void realloc_stack(void) {
  char buf[256];
  keep(buf);
  char *p = realloc(buf, 2 * 256);
  keep(p);
}
static void realloc_before_block(void) {
  long *c = malloc(16);
  keep(c);
  c--;
  keep(realloc(c, 8));
}
static void free_twice_no_return(int *p, int x) {
  if (x) {
    free(p);
  }
  free(p);
}
static void free_but_no_malloc(void) { free_twice_no_return(malloc(8), 1); }
struct HasPtr { char *p; };
static void realloc_twice(void) {
  struct HasPtr a;
  a.p = malloc(8);
  char *b = realloc(a.p, 64);
  char *m = realloc(a.p, 64);
  keep(m);
  free(b);
}
static char *leak_within_return(const char *str) { return strdup(strdup(str)); }
static void strdup_strdup(void) { free(leak_within_return("clang")); }
static void local_array_leak(void) {
  char *p = malloc(12);
  char *ArrayL[12];
  ArrayL[0] = p;
  keep(ArrayL);
}
static void pass_const_leak(void) {
  char *p = malloc(1);
  p++;
  sink = memcmp(p, p, 0);
  keep(p);
}

// The functions as meant: nothing to report.
static void good(void) {
  char *p = malloc(12);
  char *r = realloc(p, 13);
  if (!r)
    free(p);
  else
    free(r);
  int *q = malloc(sizeof(int) * 2);
  q += 1;
  free(&q[-1]);
  char *s = malloc(1);
  s = s + 10;
  free(s - 10);
  char stackBuffer[128];
  char *buffer = stackBuffer;
  if (buffer != stackBuffer)
    free(buffer);
  free(realloc(0, 0));
  free(0);
}

struct Case { const char *name; void (*run)(void); };
static const struct Case cases[] = {
    {"leak_return", leak_return},
    {"double_free", double_free},
    {"realloc_zero_twice", realloc_zero_twice},
    {"realloc_zero_then_free", realloc_zero_then_free},
    {"realloc_null_leak", realloc_null_leak},
    {"realloc_fails_leak", realloc_fails_leak},
    {"realloc_fails_huge_leak", realloc_fails_huge_leak},
    {"zero_malloc_write", zero_malloc_write},
    {"zero_calloc_write", zero_calloc_write},
    {"zero_realloc_null_write", zero_realloc_null_write},
    {"zero_valloc_read", zero_valloc_read},
    {"write_after_free", write_after_free},
    {"strndup_after_free", strndup_after_free},
    {"write_after_realloc_zero", write_after_realloc_zero},
    {"calloc_leak", calloc_leak},
    {"param_free", param_free},
    {"alloca_free", alloca_free},
    {"alloca_align_free", alloca_align_free},
    {"malloc_malloc", malloc_malloc},
    {"read_after_free_struct", read_after_free_struct_case},
    {"valloc_leak", valloc_leak},
    {"global_reachable", global_reachable},
    {"struct_leak", struct_leak},
    {"indirect_leak", indirect_leak},
    {"malloc_into_malloc", malloc_into_malloc},
    {"offset_free", offset_free},
    {"negative_offset_free", negative_offset_free},
    {"local_free", local_free},
    {"offset_zero_double_free", offset_zero_double_free},
    {"strlen_then_offset_free", strlen_then_offset_free},
    {"function_free", function_free},
    {"realloc_stack", realloc_stack},
    {"realloc_before_block", realloc_before_block},
    {"free_but_no_malloc", free_but_no_malloc},
    {"realloc_twice", realloc_twice},
    {"strdup_strdup", strdup_strdup},
    {"local_array_leak", local_array_leak},
    {"pass_const_leak", pass_const_leak},
    {"good", good},
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
