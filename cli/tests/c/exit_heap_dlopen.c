/* main returns while threads open and close shared libraries, for the exit scan with threads
 * inside the dynamic loader and inside gpa's `dlclose` (which records the object it unloads
 * for the symbolizer). Written for gpa; no upstream code (a variation of
 * exit_threads_busy.c's `dlopen` way with more threads and two libraries).
 *
 * main prints a line with `write`, leaks 16 bytes (definitely lost), keeps 32 bytes from a
 * global (still reachable); each of N threads (first argument, default 4) keeps 100 bytes
 * from its stack (still reachable) and opens and closes `libresolv.so.2` (even threads) or
 * `libanl.so.1` (odd ones) in a loop; main returns once they are in their loops. The whole
 * process runs on the first CPU it may use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int started;
static void *kept;

static void *opener(void *arg) {
    char *volatile mine = malloc(100);
    const char *name = ((long)arg & 1) ? "libanl.so.1" : "libresolv.so.2";
    __sync_fetch_and_add(&started, 1);
    for (;;) {
        void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (library)
            dlclose(library);
        if (mine == (char *)1)
            break;
    }
    return NULL;
}

static void pin_to_one_cpu(void) {
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0)
        return;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &cpus)) {
            CPU_ZERO(&cpus);
            CPU_SET(cpu, &cpus);
            sched_setaffinity(0, sizeof cpus, &cpus);
            return;
        }
    }
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    pin_to_one_cpu();
    char *leaked = malloc(16);
    leaked[0] = 1;
    leaked = NULL;
    kept = malloc(32);
    pthread_t thread;
    for (long i = 0; i < threads; i++) {
        if (pthread_create(&thread, NULL, opener, (void *)i) != 0)
            return 1;
    }
    while (started < threads)
        usleep(1000);
    usleep(20000);
    if (write(1, "done\n", 5) != 5)
        return 1;
    return 0;
}
