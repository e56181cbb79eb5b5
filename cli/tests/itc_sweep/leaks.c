/* Leaks, after Toyota ITC's memory_leak.c (programs of our own, each naming the ITC function it
 * stands for). "union": a 40-byte array of pointers whose first holds an 8-byte block, lost
 * when its pointer is overwritten with another's (memory_leak_0013: definitely lost 40 and
 * indirectly 8); "good": every block freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pair { int a; int b; };
union entry { struct pair *pair; char *text; };

int main(int argc, char **argv)
{
	int good = argc > 1 && strcmp(argv[1], "good") == 0;
	union entry *kept = malloc(5 * sizeof(union entry));
	kept->pair = malloc(sizeof(struct pair));
	union entry *lost = malloc(5 * sizeof(union entry));
	lost->pair = malloc(sizeof(struct pair));
	if (good) {
		free(lost->pair);
		free(lost);
	}
	lost = kept;
	lost->pair->a = 1;
	free(lost->pair);
	free(lost);
	printf("done\n");
	return 0;
}
