/* Blocks whose pages the program left inaccessible (or read-only) at exit, as memcheck's
 * leak-segv-jmp.c leaves them. The leak check must skip what it cannot read, never fault on
 * it, and judge each block from the pointers it can read. Reduced for gpa's tests. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void **sealed;   /* a block made inaccessible as a whole: the pointer to it cannot be read */
void **frozen;   /* a block made read-only: still read, so what it points to is reachable */
void **half;     /* a block whose second page only is made inaccessible */
void **unaligned; /* a block of no whole number of pages, its pages made inaccessible */

static void *page_block(size_t pages)
{
   void *block = NULL;
   if (posix_memalign(&block, 4096, pages * 4096) != 0)
      abort();
   return block;
}

int main(void)
{
   frozen = page_block(1);
   frozen[0] = malloc(48);                     /* reachable through frozen */
   mprotect(frozen, 4096, PROT_READ);

   half = page_block(2);
   half[0] = malloc(56);                       /* reachable, first page readable */
   half[512] = malloc(64);                     /* only in the sealed second page */
   mprotect((char *)half + 4096, 4096, PROT_NONE);

   sealed = page_block(2);
   sealed[0] = malloc(32);                     /* only sealed points to it */
   mprotect(sealed, 2 * 4096, PROT_NONE);

   /* Not a whole number of pages: the pages holding it hold bytes of no block before it
    * (gpa --guard puts its end against a guard page), and of other blocks under Valgrind. */
   unaligned = malloc(8000);
   unaligned[0] = malloc(40);                  /* only unaligned points to it */
   char *first = (char *)((unsigned long)unaligned & ~4095UL);
   mprotect(first, 2 * 4096, PROT_NONE);

   fprintf(stderr, "sealed\n");
   return 0;
}
