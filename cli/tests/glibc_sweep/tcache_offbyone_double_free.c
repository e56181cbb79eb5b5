/* glibc malloc/tst-tcfree4.c: strcpy writes a 24-character string and its NUL into a block
   of 24 bytes (off by one, into the next chunk's size field under glibc), then a block
   of 0x118 bytes is freed twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  const char *payload = "BBBBBBBBBBBBBBBBBBBBBBBB";
  char *volatile first = malloc(strlen(payload));
  char *volatile second = malloc(0x118);
  free(second);
  strcpy(first, payload);
  free(second);
  printf("double free not detected\n");
  free(first);
  return 0;
}
