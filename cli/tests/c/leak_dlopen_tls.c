/* Thread-local variables of a module loaded with dlopen: glibc allocates them on a thread's
 * first access (__tls_get_addr) and keeps them while the thread runs; this thread runs at
 * exit, so the 1,000-byte block is "possibly lost" (Valgrind 3.19 reports it: its default
 * suppression no longer matches glibc 2.36's stack). gpa's built-in suppressions silence it.
 * argv[1]: the module (tls_module.c). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static char *(*touch)(void);
static volatile int touched;

static void *worker(void *unused) {
    (void)unused;
    touch();
    touched = 1;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    void *module = dlopen(argv[1], RTLD_NOW);
    if (!module) {
        puts(dlerror());
        return 1;
    }
    touch = (char *(*)(void))dlsym(module, "touch_tls");
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!touched) usleep(1000);
    puts("done");
    return 0;
}
