/* After Electric Fence's eftest.c (its confidence tests): each step runs under a SIGSEGV
   handler that siglongjmps back, and says whether it faulted. A 1-byte block is read and
   written inside, read one past its end, freed and read; then (EF_PROTECT_BELOW) a second
   one is read one before its start. Written for gpa's sweep, no upstream code. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static sigjmp_buf back;
static char *block;
volatile char sink;

static void on_segv (int sig) { siglongjmp (back, 1); }

static void step (const char *name, void (*body) (void))
{
  if (sigsetjmp (back, 1) == 0)
    {
      signal (SIGSEGV, on_segv);
      body ();
      signal (SIGSEGV, SIG_DFL);
      printf ("%s: no fault\n", name);
    }
  else
    printf ("%s: fault\n", name);
}

static void allocate (void) { block = malloc (1); }
static void read_inside (void) { sink = block[0]; }
static void write_inside (void) { block[0] = 1; }
static void read_past (void) { sink = block[1]; }
static void release (void) { free (block); }
static void read_freed (void) { sink = block[0]; }
static void read_before (void) { sink = block[-1]; }

int main (void)
{
  step ("allocate", allocate);
  step ("read 0", read_inside);
  step ("write 0", write_inside);
  step ("read 1", read_past);
  step ("free", release);
  step ("read freed", read_freed);
  step ("allocate below", allocate);
  step ("read -1", read_before);
  step ("free below", release);
  return 0;
}
