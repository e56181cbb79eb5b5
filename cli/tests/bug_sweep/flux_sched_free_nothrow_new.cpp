// https://github.com/flux-framework/flux-sched/issues/505
// mod_main() in a module thread: a 120-byte context from new (std::nothrow) is released with
// free(): Mismatched free() / delete / delete [].
#include <cstdio>
#include <cstdlib>
#include <new>
#include <pthread.h>

struct qmanager_ctx {
    char data[120];
};

static qmanager_ctx *qmanager_new() { return new (std::nothrow) qmanager_ctx(); }

static void *mod_main(void *) {
    qmanager_ctx *ctx = qmanager_new();
    ctx->data[0] = 1;
    free(ctx); // the bug
    return nullptr;
}

int main() {
    pthread_t t;
    pthread_create(&t, nullptr, mod_main, nullptr);
    pthread_join(t, nullptr);
    std::puts("done");
}
