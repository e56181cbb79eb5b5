/* GLib's slice allocator, reached through dlopen (no GLib headers needed): one slice
 * overflowed by a byte, one dropped. GLib before 2.76 carves slices out of chunks of its own
 * unless G_SLICE=always-malloc (which it sets for itself under Valgrind). Valgrind 3.19:
 * "Invalid write of size 1 ... 0 bytes after a block of size 24 alloc'd" (g_slice_alloc from
 * main), 40 bytes in 1 blocks definitely lost. Prints "no glib" and exits 0 without GLib. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef void *(*slice_alloc)(unsigned long);
typedef void (*slice_free)(unsigned long, void *);

int main(void) {
    void *glib = dlopen("libglib-2.0.so.0", RTLD_NOW);
    if (!glib) {
        printf("no glib\n");
        return 0;
    }
    slice_alloc alloc = (slice_alloc)dlsym(glib, "g_slice_alloc");
    slice_free release = (slice_free)dlsym(glib, "g_slice_free1");
    if (!alloc || !release) {
        printf("no glib\n");
        return 0;
    }
    char *name = alloc(24);
    memset(name, 'x', 24);
    name[24] = 0; /* one byte past the slice */
    release(24, name);
    char *dropped = alloc(40);
    memset(dropped, 1, 40);
    dropped = NULL;
    printf("slices done\n");
    return 0;
}
