/* A write into a block freed by another thread, then an `exec` (argv[1] names the case).
   Valgrind reports the write as it happens ("Invalid write of size 1 ... 50 bytes inside a
   block of size 100 free'd"); gpa, which checks a freed block's poison later, must check
   every thread's freed blocks before the image goes. Prints the case, `a 0x... 100 50` (the
   freed block written, its size, the offset written), then execs /bin/true (no "done").
     alive      a second thread allocates and frees `a` (in its quarantine), then waits
                (still running at the exec)
     alive_old  the same, and the thread frees 2 MB of 1,000-byte blocks after `a` (past
                gpa's quarantine: `a`'s slot is a freed slot of that thread's heap)
     exited     the thread allocates and frees `a` and ends (joined) before the write
     exited_old the same, with the 2 MB of frees after `a`
     remote     main allocates `a`, the second thread frees it and waits
     theirs     the second thread allocates `a` and waits; main frees it
     execvp     "alive_old", then execvp("true")
     fork       "alive_old"; a child of `fork` writes into `a` and execs; the parent waits
     busy       "alive_old", then, after the write, three more threads allocate and free
                blocks of 16 to 72 bytes without pause while main execs
     clean      no write after free: four threads allocate and free, each freeing blocks
                the others allocated too, while main's `execl` of a missing file fails 50
                times (gpa stops and lets go the threads each time); then they are joined,
                "done" printed, and main execs /bin/true
   With a second argument "exit", the cases but "fork" and "clean" return from main after
   the write (printing "exit") instead of the exec: the exit check must find it too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *volatile sink;
static char *volatile shared;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int step;
static int push_out_after;

static void set_step(int to) {
    pthread_mutex_lock(&lock);
    step = to;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void wait_step(int at_least) {
    pthread_mutex_lock(&lock);
    while (step < at_least) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

/* 2 MB of frees of 1,000-byte blocks (another size class than 100 bytes'): more than gpa's
   quarantine, less than Valgrind's list of freed blocks. */
static void push_out(void) {
    for (int i = 0; i < 2000; i++) {
        sink = malloc(1000);
        free(sink);
    }
}

/* Allocates and frees `a` (alive, alive_old, exited, exited_old, execvp, fork, busy). */
static void *frees_its_own(void *ending) {
    char *a = malloc(100);
    memset(a, 'a', 100);
    shared = a;
    free(a); /* @free */
    if (push_out_after) push_out();
    set_step(1);
    if (!ending) wait_step(100); /* never: the image goes first */
    return NULL;
}

/* Frees main's block (remote). */
static void *frees_mains(void *unused) {
    (void)unused;
    wait_step(1);
    free(shared); /* @remote_free */
    set_step(2);
    wait_step(100);
    return NULL;
}

/* Allocates `a` for main to free (theirs). */
static void *allocates(void *unused) {
    (void)unused;
    char *a = malloc(100);
    memset(a, 'a', 100);
    shared = a;
    set_step(1);
    wait_step(100);
    return NULL;
}

static void *churns(void *unused) {
    (void)unused;
    for (unsigned i = 0;; i++) {
        char *p = malloc(16 + i % 57);
        p[0] = 1;
        free(p);
    }
    return NULL;
}

enum { SHARED = 64 };
static char *volatile passed[SHARED];
static volatile int ending;

/* Allocates and frees, taking blocks the other threads left in `passed` (clean). */
static void *trades(void *seed_arg) {
    unsigned seed = (unsigned)(size_t)seed_arg;
    long bad = 0;
    while (!ending) {
        seed = seed * 1103515245u + 12345u;
        size_t size = 1 + (seed >> 8) % 300;
        char *p = malloc(size);
        memset(p, 'p', size);
        char *old = __atomic_exchange_n(&passed[(seed >> 20) % SHARED], p, __ATOMIC_ACQ_REL);
        if (old) {
            bad += old[0] != 'p';
            free(old);
        }
    }
    return (void *)bad;
}

static void write_into(char *a) {
    printf("a %p 100 50\n", (void *)a);
    fflush(stdout);
    sink = a;
    sink[50] = 'x'; /* @write */
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "alive";
    /* stdout's buffer first: under Valgrind it would otherwise take a freed block's place. */
    printf("%s\n", how);
    fflush(stdout);
    pthread_t thread;
    if (!strcmp(how, "clean")) {
        pthread_t traders[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&traders[i], NULL, trades, (void *)(size_t)(i + 1));
        for (int i = 0; i < 50; i++) {
            usleep(2000);
            execl("/nonexistent/gpa-test", "missing", (char *)NULL);
        }
        ending = 1;
        long bad = 0;
        for (int i = 0; i < 4; i++) {
            void *result;
            pthread_join(traders[i], &result);
            bad += (long)result;
        }
        printf("bad %ld\n", bad);
        for (int i = 0; i < SHARED; i++) free(passed[i]);
        puts("done");
        fflush(stdout);
        execl("/bin/true", "true", (char *)NULL);
        return 3;
    }
    if (!strcmp(how, "remote")) {
        pthread_create(&thread, NULL, frees_mains, NULL);
        char *a = malloc(100);
        memset(a, 'a', 100);
        shared = a;
        set_step(1);
        wait_step(2);
    } else if (!strcmp(how, "theirs")) {
        pthread_create(&thread, NULL, allocates, NULL);
        wait_step(1);
        free(shared); /* @theirs_free */
    } else {
        int ending = !strcmp(how, "exited") || !strcmp(how, "exited_old");
        push_out_after = strcmp(how, "alive") && strcmp(how, "exited");
        pthread_create(&thread, NULL, frees_its_own, ending ? "end" : NULL);
        wait_step(1);
        if (ending) pthread_join(thread, NULL);
    }
    if (!strcmp(how, "fork")) {
        pid_t child = fork();
        if (child == 0) {
            write_into(shared);
            execl("/bin/true", "true", (char *)NULL);
            _exit(3);
        }
        int status = 0;
        waitpid(child, &status, 0);
        printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        fflush(stdout);
        execl("/bin/true", "true", (char *)NULL);
        return 3;
    }
    write_into(shared);
    if (argc > 2 && !strcmp(argv[2], "exit")) {
        puts("exit");
        return 0;
    }
    if (!strcmp(how, "busy")) {
        for (int i = 0; i < 3; i++) {
            pthread_t churner;
            pthread_create(&churner, NULL, churns, NULL);
        }
        usleep(20000);
    }
    if (!strcmp(how, "execvp")) {
        char *args[] = {"true", NULL};
        execvp("true", args);
    } else {
        execl("/bin/true", "true", (char *)NULL);
    }
    return 3;
}
