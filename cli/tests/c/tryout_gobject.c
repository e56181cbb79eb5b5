/* GObject blocks whose only pointers are interior ones natively (docs/sweeps/programs2.md
 * item 2): fundamental type nodes (kept 8 bytes into their block) and instances with private
 * data (the instance lies `private_size` bytes into its block). Under Valgrind GLib registers
 * both as client blocks starting at those pointers, so memcheck counts them still reachable.
 * The few GLib prototypes are declared here (no libglib2.0-dev needed); link with
 * `-l:libgobject-2.0.so.0 -l:libglib-2.0.so.0`.
 *
 *   (no argument)  an empty main: only what libgobject's constructors allocate
 *   objects        a GObject type with 64 bytes of private data: one instance kept in a
 *                  static pointer, another dropped
 *   field          one instance held only by a pointer to a field inside it
 *   control        a calloc'd 96-byte block held only by a pointer 8 bytes inside it (the
 *                  type node's shape, allocated by the program: not GLib's)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long GType;
typedef struct {
    GType type;
    const char *type_name;
    unsigned class_size;
    unsigned instance_size;
} GTypeQuery;

extern GType g_object_get_type(void);
extern void g_type_query(GType type, GTypeQuery *query);
extern GType g_type_register_static_simple(GType parent, const char *name,
                                           unsigned class_size, void (*class_init)(void *, void *),
                                           unsigned instance_size,
                                           void (*instance_init)(void *, void *), int flags);
extern int g_type_add_instance_private(GType type, unsigned long private_size);
extern void g_type_class_adjust_private_offset(void *klass, int *private_size_or_offset);
extern void *g_object_new(GType type, const char *first_property, ...);

static void *kept;
static void *held_field;

/* What G_DEFINE_TYPE_WITH_PRIVATE does: the private size registered in the type's get_type
 * function, turned into an offset by the class initializer. */
static int private_offset;

static void demo_class_init(void *klass, void *data) {
    (void)data;
    g_type_class_adjust_private_offset(klass, &private_offset);
}

/* The type: GObject's instance plus 16 bytes, with 64 bytes of private data. */
static GType demo_type(void) {
    static GType type;
    if (type == 0) {
        GTypeQuery query;
        g_type_query(g_object_get_type(), &query);
        type = g_type_register_static_simple(g_object_get_type(), "Demo", query.class_size,
                                             demo_class_init, query.instance_size + 16, NULL, 0);
        private_offset = g_type_add_instance_private(type, 64);
    }
    return type;
}

/* Makes an instance and forgets it; scrubs what the call left on the stack. */
static __attribute__((noinline)) void drop_one(void) {
    void *volatile lost = g_object_new(demo_type(), NULL);
    lost = NULL;
    (void)lost;
}

static __attribute__((noinline)) void scrub_stack(void) {
    volatile char scratch[8192];
    memset((char *)scratch, 0, sizeof scratch);
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "objects") == 0) {
        kept = g_object_new(demo_type(), NULL);
        drop_one();
    } else if (strcmp(what, "field") == 0) {
        char *object = g_object_new(demo_type(), NULL);
        held_field = object + 24; /* past GObject's g_class, ref_count and qdata */
        object = NULL;
    } else if (strcmp(what, "control") == 0) {
        char *block = calloc(1, 96);
        held_field = block + 8;
        block = NULL;
    }
    scrub_stack();
    printf("done %s, private offset %d\n", what, private_offset);
    return 0;
}
