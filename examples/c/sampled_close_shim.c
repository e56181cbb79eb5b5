/* A measuring aid for sampled guard mode (docs/performance.md, "Sampled guard mode: the
 * kernel's floor"): preloaded into a program that uses gpa, it replaces the mprotect that closes
 * a sampled block's pool slot at free (two pages to PROT_NONE) by something cheaper, so that
 * the cost of a sampled block can be taken apart step by step in the real workload:
 *
 *   SHIM=skip     no system call at all (the slot stays open: a use after free is NOT caught)
 *   SHIM=getppid  a bare system call instead
 *   SHIM=noop     an mprotect that changes nothing (the slot to read-write)
 *   unset         every call passes unchanged
 *
 * Every other mprotect passes unchanged. For measuring only: with SHIM set, sampled mode no
 * longer catches a use after free.
 *
 *   cc -O2 -shared -fPIC sampled_close_shim.c -o sampled_close_shim.so
 *   LD_PRELOAD=./sampled_close_shim.so SHIM=noop perf stat -e task-clock \
 *       target/release/gpa-bench --filter mixed-1t --alloc gpa-guard-sample1000 --repeats 3 --scale 2
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { PASS, SKIP, GETPPID, NOOP };

static int mode(void) {
    static int chosen = -1;
    if (chosen < 0) {
        const char *name = getenv("SHIM");
        chosen = !name                   ? PASS
                 : name[0] == 's'        ? SKIP
                 : name[0] == 'g'        ? GETPPID
                 : name[0] == 'n'        ? NOOP
                                         : PASS;
    }
    return chosen;
}

int mprotect(void *address, size_t len, int protection) {
    /* A pool slot is a data page and its guard page. */
    if (protection == PROT_NONE && len == 2 * (size_t)sysconf(_SC_PAGESIZE)) {
        switch (mode()) {
        case SKIP:
            return 0;
        case GETPPID:
            syscall(SYS_getppid);
            return 0;
        case NOOP:
            return (int)syscall(SYS_mprotect, address, len, PROT_READ | PROT_WRITE);
        default:
            break;
        }
    }
    return (int)syscall(SYS_mprotect, address, len, protection);
}
