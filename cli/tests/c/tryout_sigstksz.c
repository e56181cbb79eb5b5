/* Prints sysconf(_SC_SIGSTKSZ): glibc derives it from the CPU's signal frame size (the
 * kernel's AT_MINSIGSTKSZ), which Valgrind's emulated CPU makes smaller (8,192 bytes under
 * Valgrind 3.19 where 47,808 natively on an AVX-512 machine). LLVM sizes its alternate
 * signal stack from it (SIGSTKSZ + 64 KiB), so that block's size differs under Valgrind. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("%ld\n", sysconf(_SC_SIGSTKSZ));
    return 0;
}
