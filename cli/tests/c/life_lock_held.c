/* A thread kept for ever inside the allocator, holding whatever lock it held there, then the
 * process ends: raise(SIGTERM), SIGTERM from outside, exit(0), abort() or a NULL write in
 * main (lifecycle.md item 22).
 *
 * The worker allocates in a tight loop (small blocks of many sizes, large ones, realloc).
 * main sends it SIGUSR1 until one arrives while it is inside the object that defines
 * `malloc` (libc natively, the preloaded allocator under a checker); the handler then waits
 * there. To know that a lock is held, main starts a probe thread that allocates and frees a
 * large block: when the probe has not finished 500 ms later, it waits for the worker's lock
 * (and stays so); when it has, the worker is let go (SIGUSR2) and caught again. After 3 s of
 * tries (natively, under Valgrind) the last stop stays, held lock or not. Then `how`:
 *   term   raise(SIGTERM)        kill   prints "ready <pid>" and waits for SIGTERM from outside
 *   exit   exit(0)               abort  abort()            segv   a NULL write
 * 40 bytes are definitely lost (pointer dropped) and 100 reachable (a global) in every case;
 * stdout says "held" when the probe found a lock held, else "free" (and "ready <pid>" for `kill`). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t stuck;
static volatile sig_atomic_t release_worker;
static volatile sig_atomic_t last_try;
static volatile sig_atomic_t stops;
static void *allocator_base;
void *volatile kept;
static volatile int started;

static void on_usr1(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)info;
    ucontext_t *uc = context;
    void *ip = (void *)uc->uc_mcontext.gregs[REG_RIP];
    Dl_info where;
    /* dladdr takes only the loader's lock, which this thread never holds while allocating. */
    if (last_try || (dladdr(ip, &where) && where.dli_fbase == allocator_base)) {
        release_worker = 0;
        stops++;
        stuck = 1;
        while (!release_worker)
            pause();
        stuck = 0;
    }
}

static void on_usr2(int sig) { (void)sig; }

__attribute__((noinline)) static void *grow(void *p, size_t n) { return realloc(p, n); }

static void *worker(void *arg) {
    (void)arg;
    void *slots[64] = {0};
    unsigned i = 0;
    started = 1;
    for (;;) {
        unsigned k = i % 64;
        free(slots[k]);
        size_t size = (i % 2 == 0) ? 200000 + (i % 5) * 4096 : 8 + (i * 37) % 3000;
        slots[k] = malloc(size);
        if (i % 3 == 0)
            slots[k] = grow(slots[k], size * 2 + 1);
        i++;
    }
    return NULL;
}

/* The probe thread, made before the worker stops (making a thread allocates): at each
 * request it allocates as the worker does, then says it is done. */
static volatile int probe_asked, probe_done;
static void *probe(void *arg) {
    (void)arg;
    for (;;) {
        while (probe_asked == probe_done)
            nanosleep(&(struct timespec){0, 20000}, NULL);
        for (unsigned i = 0; i < 10; i++) {
            size_t size = 200000 + (i % 5) * 4096;
            void *p = grow(malloc(size), size * 2 + 1);
            free(p);
            free(grow(malloc(24 + i * 40), 100 + i * 300));
        }
        probe_done = probe_asked;
    }
    return NULL;
}

__attribute__((noinline)) static void lose(void) {
    void *p = malloc(40);
    memset(p, 1, 40);
    __asm__ volatile("" : : "r"(p) : "memory");
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "term";
    Dl_info info;
    if (!dladdr(dlsym(RTLD_DEFAULT, "malloc"), &info)) {
        fprintf(stderr, "no malloc\n");
        return 2;
    }
    allocator_base = info.dli_fbase;
    kept = malloc(100);
    lose();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, on_usr2);
    /* Nothing allocates in main once the worker may hold the allocator's lock: stdout's
     * buffer is static, the probe thread made beforehand. */
    static char out[256];
    setvbuf(stdout, out, _IOLBF, sizeof out);
    pthread_t thread, prober;
    pthread_create(&prober, NULL, probe, NULL);
    pthread_create(&thread, NULL, worker, NULL);
    while (!started)
        ;
    double begin = now();
    int held = 0;
    struct timespec pause_ = {0, 20000};
    for (;;) {
        last_try = now() - begin > 3.0;
        while (!stuck) {
            pthread_kill(thread, SIGUSR1);
            nanosleep(&pause_, NULL);
        }
        if (last_try)
            break;
        probe_asked++;
        double asked = now();
        while (probe_done != probe_asked && now() - asked < 0.5)
            nanosleep(&pause_, NULL);
        if (probe_done != probe_asked) {
            held = 1;
            break;
        }
        /* A SIGUSR1 still pending may stop it again at once: that stop is probed next. */
        int stop = stops;
        release_worker = 1;
        while (stuck && stops == stop) {
            pthread_kill(thread, SIGUSR2);
            nanosleep(&pause_, NULL);
        }
    }
    printf("%s\n", held ? "held" : "free");
    if (!strcmp(how, "term"))
        raise(SIGTERM);
    else if (!strcmp(how, "kill")) {
        printf("ready %d\n", (int)getpid());
        for (;;)
            pause();
    } else if (!strcmp(how, "exit"))
        exit(0);
    else if (!strcmp(how, "abort"))
        abort();
    else if (!strcmp(how, "segv"))
        *(volatile int *)0 = 1;
    return 3;
}
