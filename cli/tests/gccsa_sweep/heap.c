// The C heap misused: GCC's -fanalyzer heap tests (gcc/testsuite/gcc.dg/analyzer/ and
// c-c++-common/analyzer/: allocation-size-*.c, CWE-131-examples.c, malloc-CWE-416-examples.c,
// malloc-CWE-590-examples.c, realloc-1.c, attr-malloc-1.c, data-model-20.c, malloc-1.c,
// attr-malloc-CVE-2019-19078-usb-leak.c, file-1.c), reduced to programs of our own: argv[1]
// names one case.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static volatile int sink;

// CWE-131 example 5: an array of three ints in malloc(3), left allocated.
static void cwe131_three_ints(void) {
  int *id_sequence = (int *)malloc(3);
  keep(id_sequence);
  id_sequence[0] = 13579;
  id_sequence[1] = 24680;
  id_sequence[2] = 97531;
}
// allocation-size-3.c test_1: the same, freed.
static void alloc_size_three_freed(void) {
  int32_t *id_sequence = (int32_t *)malloc(3);
  keep(id_sequence);
  id_sequence[0] = 13579;
  id_sequence[1] = 24680;
  id_sequence[2] = 97531;
  free(id_sequence);
}
// allocation-size-1.c test_2: 21 int16_t's worth as int32_t's, all 21 written.
static void alloc_size_int16_as_int32(void) {
  int32_t *ptr = (int32_t *)malloc(21 * sizeof(int16_t));
  keep(ptr);
  for (int i = 0; i < 21; i++)
    ptr[i] = i;
  free(ptr);
}
// CWE-131 example 1: WidgetList[numWidgets] = NULL, one past the array.
static void cwe131_widget_list(void) {
  unsigned numWidgets = 5;
  void **WidgetList = (void **)malloc(numWidgets * sizeof(void *));
  keep(WidgetList);
  for (unsigned i = 0; i < numWidgets; i++)
    WidgetList[i] = &WidgetList[i];
  WidgetList[numWidgets] = NULL;
  free(WidgetList);
}
struct record {
  int id;
  char name[40];
  int flags;
};
// allocation-size-2.c: a struct in a block of an int's size; a field far past it written.
static void struct_in_int_block(void) {
  struct record *r = (struct record *)malloc(sizeof(int));
  keep(r);
  r->id = 1;
  r->flags = 7;
  free(r);
}
// The same field read.
static void struct_in_int_block_read(void) {
  struct record *r = (struct record *)malloc(sizeof(int));
  keep(r);
  r->id = 1;
  sink = r->flags;
  free(r);
}
// A write a page past a 16-byte block (an index computed for the wrong type).
static void far_write_page(void) {
  char *p = malloc(16);
  keep(p);
  p[4096 + 8] = 1;
  free(p);
}
// CWE-131 example 3: the escaped string's buffer sized for the input, not for "&amp;".
static void cwe131_escape(void) {
  const char *user = "a&b&c";
  char *dst_buf = (char *)malloc(strlen(user) + 1);
  keep(dst_buf);
  int dst_index = 0;
  for (size_t i = 0; i < strlen(user); i++) {
    if (user[i] == '&') {
      dst_buf[dst_index++] = '&';
      dst_buf[dst_index++] = 'a';
      dst_buf[dst_index++] = 'm';
      dst_buf[dst_index++] = 'p';
      dst_buf[dst_index++] = ';';
    } else
      dst_buf[dst_index++] = user[i];
  }
  dst_buf[dst_index] = 0;
  free(dst_buf);
}
// strcpy into malloc(strlen(s)): the terminator one past.
static void strcpy_no_room(void) {
  const char *s = "hello";
  char *copy = malloc(strlen(s));
  keep(copy);
  strcpy(copy, s);
  free(copy);
}
// memset over a block four times too small.
static void memset_past(void) {
  char *p = malloc(16);
  keep(p);
  memset(p, 0, 64);
  free(p);
}
struct flex {
  int n;
  char data[];
};
// allocation-size-4.c: a flexible array member allocated without room for its terminator.
static void flexible_member(void) {
  const char *s = "abcdefgh";
  struct flex *f = malloc(sizeof(struct flex) + strlen(s));
  keep(f);
  f->n = (int)strlen(s);
  memcpy(f->data, s, strlen(s));
  f->data[f->n] = 0;
  free(f);
}
// A write one element before the block.
static void write_before(void) {
  int *p = malloc(8 * sizeof(int));
  keep(p);
  p[-1] = 3;
  free(p);
}
typedef struct {
  char placeholder[1024];
} record_t;
record_t global_records[4];
// malloc-CWE-590-examples.c foo_1: free of an array on the stack.
static void cwe590_stack_array(void) {
  record_t bar[4];
  keep(bar);
  free(bar);
}
// malloc-CWE-590-examples.c foo_2: free of a global array.
static void cwe590_global_array(void) {
  keep(global_records);
  free(global_records);
}
// malloc-1.c: free of a string literal.
static void free_string_literal(void) {
  char *s = "abc";
  keep(s);
  free(s);
}
// malloc-1.c: free of a field of a local struct (not its start).
static void free_local_field(void) {
  struct record r;
  keep(&r);
  free(&r.flags);
}
// malloc-CWE-416-examples.c main: strncpy into a freed 512-byte block after two other allocations.
static void cwe416_strncpy(void) {
  char *buf1R1 = malloc(512);
  char *buf2R1 = malloc(512);
  free(buf2R1);
  char *buf2R2 = malloc(512 / 2 - 8);
  char *buf3R2 = malloc(512 / 2 - 8);
  keep(buf2R1);
  strncpy(buf2R1, "input", 512 - 1);
  free(buf1R1);
  free(buf2R2);
  free(buf3R2);
}
static __attribute__((noinline)) void log_error(const char *what, const char *ptr) {
  printf("%s: %zu\n", what, strlen(ptr));
}
// malloc-CWE-416-examples.c example_2 with err set: the buffer freed, then logged.
static void cwe416_log_after_free(void) {
  int abrt = 0;
  char *ptr = malloc(1024);
  keep(ptr);
  strcpy(ptr, "commit");
  if (ptr) {
    abrt = 1;
    free(ptr);
  }
  if (abrt)
    log_error("operation aborted before commit", ptr);
}
// malloc-CWE-416-examples.c example_2 without err: the buffer leaked.
static void cwe416_leak(void) {
  int abrt = 0;
  char *ptr = malloc(1024);
  keep(ptr);
  if (abrt)
    free(ptr);
}
// realloc-1.c test_9: realloc of a freed block.
static void realloc_after_free(void) {
  void *p = malloc(64);
  keep(p);
  free(p);
  void *q = realloc(p, 1024);
  keep(q);
  free(q);
}
// A block shrunk by realloc, then written past its new size.
static void realloc_shrink_write(void) {
  char *p = malloc(100);
  keep(p);
  p = realloc(p, 10);
  keep(p);
  p[50] = 1;
  free(p);
}
// A block grown by realloc, the old pointer written.
static void realloc_grow_old_write(void) {
  char *p = malloc(16);
  keep(p);
  char *q = realloc(p, 4096);
  keep(q);
  p[0] = 1;
  free(q);
}
// A block grown by realloc, read past its new size.
static void realloc_grow_read_past(void) {
  char *p = calloc(16, 1);
  keep(p);
  p = realloc(p, 24);
  keep(p);
  sink = p[24];
  free(p);
}
// realloc-1.c test_3: the old block freed when realloc fails, the new one when it works.
static void realloc_both_paths(void) {
  void *p = malloc(1024);
  void *q = realloc(p, 4096);
  if (q)
    free(q);
  else
    free(p);
}
// realloc-1.c test_2 on its success path: p = realloc(p, ...), then freed.
static void realloc_assign_back(void) {
  void *p = malloc(1024);
  p = realloc(p, 4096);
  free(p);
}
struct foo {
  int m_int;
};
static __attribute__((noinline)) void foo_release(struct foo *p) { free(p); }
static __attribute__((noinline, malloc(foo_release))) struct foo *foo_acquire(void) {
  return malloc(sizeof(struct foo));
}
// attr-malloc-1.c test_4a: double release through the deallocator named by the attribute.
static void attr_double_release(void) {
  struct foo *p = foo_acquire();
  foo_release(p);
  foo_release(p);
}
// attr-malloc-1.c test_8: a field read after the release.
static void attr_use_after_release(void) {
  struct foo *p = foo_acquire();
  p->m_int = 42;
  foo_release(p);
  sink = p->m_int;
}
// attr-malloc-1.c test_5: the attribute's deallocator bypassed by free (one family at run time).
static void attr_free_instead(void) {
  struct foo *p = foo_acquire();
  free(p);
}
// attr-malloc-1.c test_3: the acquired object leaked.
static void attr_leak(void) { keep(foo_acquire()); }
struct foo_holder {
  struct foo **arr;
};
// data-model-20.c: an array of pointers filled until an allocation "fails"; the error path
// frees the array but not its elements.
static struct foo **fill(int n, int fail_at) {
  struct foo **arr = malloc(n * sizeof(struct foo *));
  if (!arr)
    return NULL;
  for (int i = 0; i < n; i++) {
    arr[i] = i == fail_at ? NULL : malloc(sizeof(struct foo));
    if (!arr[i]) {
      free(arr);
      return NULL;
    }
  }
  return arr;
}
static void error_path_elements_leak(void) { keep(fill(6, 4)); }
struct usb_dev {
  char *buffer;
  void *urb;
  int state;
};
// attr-malloc-CVE-2019-19078-usb-leak.c: the urb allocated, the buffer's allocation failing
// path taken, the device freed without its urb.
static struct usb_dev *usb_open(int fail) {
  struct usb_dev *dev = calloc(1, sizeof *dev);
  dev->urb = malloc(200);
  dev->buffer = fail ? NULL : malloc(64);
  if (!dev->buffer) {
    free(dev);
    return NULL;
  }
  return dev;
}
static void usb_error_leak(void) { keep(usb_open(1)); }
struct node {
  struct node *next;
  int value;
};
// malloc-1.c: a list torn down by reading each node's next after freeing it.
static void list_teardown_after_free(void) {
  struct node *head = NULL;
  for (int i = 0; i < 4; i++) {
    struct node *n = malloc(sizeof *n);
    n->next = head;
    n->value = i;
    head = n;
  }
  int count = 0;
  for (struct node *n = head; n; n = n->next) {
    free(n);
    count++;
  }
  printf("freed %d\n", count);
}
// malloc-1.c: a list whose head is lost, its other nodes only reachable through it.
static void list_lost(void) {
  struct node *head = NULL;
  for (int i = 0; i < 4; i++) {
    struct node *n = malloc(sizeof *n);
    n->next = head;
    n->value = i;
    head = n;
  }
  keep(head);
}
// malloc-1.c: a double free in a loop.
static void free_in_loop(void) {
  void *p = malloc(32);
  keep(p);
  for (int i = 0; i < 2; i++)
    free(p);
}
// malloc-1.c: a free under a condition, then a write under the same condition.
static __attribute__((noinline)) void maybe_free_then_write(int *p, int flag) {
  if (flag)
    free(p);
  if (flag)
    *p = 1;
}
static void conditional_free_write(void) {
  int *p = malloc(sizeof(int));
  maybe_free_then_write(p, 1);
}
// malloc-1.c / strndup leaks: the copies leaked.
static void strdup_leak(void) { keep(strdup("analyzer")); }
static void strndup_leak(void) { keep(strndup("analyzer heap", 8)); }
// asprintf's buffer leaked (grown inside libc).
static void asprintf_leak(void) {
  char *s = NULL;
  if (asprintf(&s, "%s-%d", "heap", 42) > 0)
    keep(s);
}
// file-1.c: a stream opened and never closed (glibc keeps its FILE on its list).
static void fopen_leak(void) {
  FILE *f = fopen("/dev/null", "r");
  keep(f);
}
void *holder;
// Only a pointer into the block's middle kept: possibly lost.
static void interior_pointer(void) {
  char *p = malloc(40);
  holder = p + 8;
}
// The block kept by a global: still reachable.
static void global_kept(void) { holder = malloc(40); }
// calloc-1.c: a zeroed block read, freed.
static void calloc_good(void) {
  char *p = calloc(42, 1);
  keep(p);
  sink = p[41];
  free(p);
}
// The no-warning functions together.
static void good(void) {
  int16_t *a = (int16_t *)malloc(21 * sizeof(int16_t));
  for (int i = 0; i < 21; i++)
    a[i] = (int16_t)i;
  int32_t *b = (int32_t *)malloc(4 * sizeof(int));
  b[3] = 1;
  free(a);
  free(b);
  struct foo *p = foo_acquire();
  foo_release(p);
  realloc_both_paths();
  realloc_assign_back();
  calloc_good();
  char *s = NULL;
  if (asprintf(&s, "%d", 7) > 0)
    free(s);
  FILE *f = fopen("/dev/null", "r");
  if (f)
    fclose(f);
  struct foo **arr = fill(3, -1);
  for (int i = 0; i < 3; i++)
    free(arr[i]);
  free(arr);
}

static const struct {
  const char *name;
  void (*run)(void);
} cases[] = {
    {"cwe131_three_ints", cwe131_three_ints},
    {"alloc_size_three_freed", alloc_size_three_freed},
    {"alloc_size_int16_as_int32", alloc_size_int16_as_int32},
    {"cwe131_widget_list", cwe131_widget_list},
    {"struct_in_int_block", struct_in_int_block},
    {"struct_in_int_block_read", struct_in_int_block_read},
    {"far_write_page", far_write_page},
    {"cwe131_escape", cwe131_escape},
    {"strcpy_no_room", strcpy_no_room},
    {"memset_past", memset_past},
    {"flexible_member", flexible_member},
    {"write_before", write_before},
    {"cwe590_stack_array", cwe590_stack_array},
    {"cwe590_global_array", cwe590_global_array},
    {"free_string_literal", free_string_literal},
    {"free_local_field", free_local_field},
    {"cwe416_strncpy", cwe416_strncpy},
    {"cwe416_log_after_free", cwe416_log_after_free},
    {"cwe416_leak", cwe416_leak},
    {"realloc_after_free", realloc_after_free},
    {"realloc_shrink_write", realloc_shrink_write},
    {"realloc_grow_old_write", realloc_grow_old_write},
    {"realloc_grow_read_past", realloc_grow_read_past},
    {"attr_double_release", attr_double_release},
    {"attr_use_after_release", attr_use_after_release},
    {"attr_free_instead", attr_free_instead},
    {"attr_leak", attr_leak},
    {"error_path_elements_leak", error_path_elements_leak},
    {"usb_error_leak", usb_error_leak},
    {"list_teardown_after_free", list_teardown_after_free},
    {"list_lost", list_lost},
    {"free_in_loop", free_in_loop},
    {"conditional_free_write", conditional_free_write},
    {"strdup_leak", strdup_leak},
    {"strndup_leak", strndup_leak},
    {"asprintf_leak", asprintf_leak},
    {"fopen_leak", fopen_leak},
    {"interior_pointer", interior_pointer},
    {"global_kept", global_kept},
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
