/* Reduces how2heap glibc_2.36/fastbin_dup.c (and fastbin_dup_into_stack.c): the tcache of
   8-byte blocks filled by 7 frees, then a block freed twice with another free between
   (a, b, a: glibc checks only the top of the fastbin), and the three callocs that follow;
   into_stack's write of a forged link into the block the first calloc handed out again
   (natively, the freed a), dropped: under a checker that block is a new one. The blocks
   left are kept in a global (still reachable). */
#include <stdio.h>
#include <stdlib.h>

void *later[5];                                       /* still reachable at exit */

int
main (void)
{
  setbuf (stdout, NULL);                              /* as upstream: no stdio buffer */
  void *ptrs[8];
  for (int i = 0; i < 8; i++)
    ptrs[i] = malloc (8);
  for (int i = 0; i < 7; i++)
    free (ptrs[i]);
  int *a = calloc (1, 8);
  int *b = calloc (1, 8);
  int *c = calloc (1, 8);
  free (a);
  free (b);
  free (a);                                           /* double free, b freed between */
  later[0] = calloc (1, 8);
  later[1] = calloc (1, 8);
  later[2] = calloc (1, 8);
  later[3] = c;                                       /* natively, freeing these aborts */
  later[4] = ptrs[7];
  puts ("done");
  return 0;
}
