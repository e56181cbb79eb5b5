/* main returns while other threads are busy, each in a different place, for the exit scan's
 * handling of glibc's exit-time frees (`__libc_freeres`, which Valgrind runs at exit after
 * the other threads are gone). Written for gpa; no upstream code.
 *
 * Every way: main prints a line with `printf` first (stdout gets its buffer), leaks 16 bytes
 * (definitely lost) and keeps 32 bytes from a global (still reachable); each thread keeps
 * 100 bytes from its stack while it runs (still reachable), then main prints "done" and
 * returns once the threads are in their loops. The way (first argument):
 *   read    two threads blocked in `read` on a pipe nobody writes to;
 *   churn   four threads in a tight `malloc`/`free` loop (64 bytes);
 *   printf  two threads in `printf` to stdout (which main first points at /dev/null; its own
 *           lines go to the original descriptor with `write`), holding stdout's lock inside
 *           glibc most of the time;
 *   fprintf two threads in `fprintf` to a stream of their own on /dev/null (its `FILE`, 472
 *           bytes, still reachable);
 *   dlopen  two threads opening and closing a shared library (`libresolv.so.2`) in a loop,
 *           inside the dynamic loader most of the time.
 * With a second argument "pinned", the whole process runs on the first CPU it may use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int started;
static int pipe_ends[2];
static int out = 1;
static void *kept;

static void say(const char *text) {
    ssize_t written = write(out, text, strlen(text));
    (void)written;
}

static void *reader(void *arg) {
    char *mine = malloc(100);
    char byte;
    (void)arg;
    __sync_fetch_and_add(&started, 1);
    ssize_t got = read(pipe_ends[0], &byte, 1);
    (void)got;
    free(mine);
    return NULL;
}

static void *churner(void *arg) {
    char *volatile mine = malloc(100);
    (void)arg;
    __sync_fetch_and_add(&started, 1);
    for (;;) {
        free(malloc(64));
        if (mine == (char *)1)
            break;
    }
    return NULL;
}

static void *printer(void *arg) {
    char *volatile mine = malloc(100);
    (void)arg;
    __sync_fetch_and_add(&started, 1);
    for (unsigned i = 0;; i++) {
        printf("%0200u %.40f\n", i, i / 7.0);
        if (mine == (char *)1)
            break;
    }
    return NULL;
}

static void *file_printer(void *arg) {
    char *volatile mine = malloc(100);
    FILE *sink = fopen("/dev/null", "w");
    (void)arg;
    if (!sink)
        abort();
    __sync_fetch_and_add(&started, 1);
    for (unsigned i = 0;; i++) {
        fprintf(sink, "%0200u %.40f\n", i, i / 7.0);
        if (mine == (char *)1)
            break;
    }
    return NULL;
}

static void *opener(void *arg) {
    char *volatile mine = malloc(100);
    (void)arg;
    __sync_fetch_and_add(&started, 1);
    for (;;) {
        void *library = dlopen("libresolv.so.2", RTLD_NOW | RTLD_LOCAL);
        if (library)
            dlclose(library);
        if (mine == (char *)1)
            break;
    }
    return NULL;
}

/* Pins the whole process to the first CPU it may use. */
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
    const char *way = argc > 1 ? argv[1] : "churn";
    void *(*body)(void *) = churner;
    int threads = 2;
    if (argc > 2 && strcmp(argv[2], "pinned") == 0)
        pin_to_one_cpu();
    printf("start\n");
    fflush(stdout);
    char *leaked = malloc(16);
    leaked[0] = 1;
    leaked = NULL;
    kept = malloc(32);
    if (strcmp(way, "read") == 0) {
        if (pipe(pipe_ends) != 0)
            return 1;
        body = reader;
    } else if (strcmp(way, "churn") == 0) {
        threads = 4;
    } else if (strcmp(way, "printf") == 0) {
        out = dup(1);
        int null = open("/dev/null", O_WRONLY);
        if (out < 0 || null < 0 || dup2(null, 1) != 1)
            return 1;
        close(null);
        body = printer;
    } else if (strcmp(way, "fprintf") == 0) {
        body = file_printer;
    } else if (strcmp(way, "dlopen") == 0) {
        body = opener;
    } else {
        return 2;
    }
    pthread_t thread;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&thread, NULL, body, NULL) != 0)
            return 1;
    }
    while (started < threads)
        usleep(1000);
    /* Let the threads get into their loops (past their first call's set-up). */
    usleep(20000);
    say("done\n");
    return 0;
}
