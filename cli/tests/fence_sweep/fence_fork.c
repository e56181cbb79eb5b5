/* After GWP-ASan's fork handling (compiler-rt/lib/gwp_asan/tests/enable_disable.cpp, the
   fork tests): a child made while guarded blocks are live writes past one of them and reads
   one freed before the fork; its report is its own, the parent's stays clean. Written for
   gpa's sweep, no upstream code. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

volatile char sink;

int main (void)
{
  char *live = malloc (32);
  char *freed = malloc (48);
  free (freed);
  fflush (stdout);
  pid_t child = fork ();
  if (child == 0)
    {
      live[32] = 1;
      sink = freed[5];
      free (live);
      _exit (0);
    }
  int status;
  waitpid (child, &status, 0);
  printf ("child exited %d\n", WEXITSTATUS (status));
  free (live);
  return 0;
}
