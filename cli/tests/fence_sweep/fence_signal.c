/* After the signal-handler cases of GWP-ASan's crash handler tests
   (compiler-rt/lib/gwp_asan/tests/crash_handler_api.cpp) and Electric Fence's eftest.c:
   errors made inside a signal handler (running on an alternate stack): a write one past a
   block, a read of a freed block; the program goes on after the handler. Written for gpa's
   sweep, no upstream code. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *live, *freed;
volatile char sink;

static void on_usr1 (int sig)
{
  live[16] = 1;
  sink = freed[0];
}

int main (void)
{
  static char altstack[65536];
  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
  sigaltstack (&ss, NULL);
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction (SIGUSR1, &sa, NULL);
  live = malloc (16);
  freed = malloc (40);
  free (freed);
  raise (SIGUSR1);
  free (live);
  puts ("after the handler");
  return 0;
}
