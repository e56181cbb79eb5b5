// After Dr. Memory's tests/leakcycle.cpp (DynamoRIO/drmemory): two objects pointing at each
// other, lost together: one definitely lost, the other indirectly. Written for gpa; no
// upstream code.
#include <cstdio>

struct Owner;
struct Event {
    Owner *owner = nullptr;
};
struct Owner {
    Event *event = nullptr;
    ~Owner() { delete event; }
};

static Event *queue = nullptr;

static void __attribute__((noinline)) run() {
    queue = new Event;        // line 18
    Owner *owner = new Owner; // line 19
    Event *e = queue;
    queue = nullptr;
    owner->event = e;
    e->owner = owner;
    delete queue; // a null queue: nothing
}

static void __attribute__((noinline)) scrub() {
    volatile char buf[4096];
    for (int i = 0; i < 4096; i++)
        buf[i] = 0;
}

int main() {
    run();
    scrub();
    std::printf("done\n");
}
