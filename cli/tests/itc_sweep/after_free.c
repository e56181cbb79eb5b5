/* Uses of freed blocks, after Toyota ITC's invalid_memory_access.c (programs of our own, each
 * naming the ITC function it stands for). "read": an int read from a freed 40-byte block
 * (invalid_memory_access_001); "printf": a freed string printed with %s
 * (invalid_memory_access_004); "good": the reads before the free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sink;

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "read";
	int good = strcmp(which, "good") == 0;
	int *ptr = malloc(10 * sizeof(int));
	ptr[1] = 10;
	if (good)
		sink = ptr[1];
	free(ptr);
	if (strcmp(which, "read") == 0)
		sink = *(ptr + 1);
	char *buf = malloc(25 * sizeof(char));
	strcpy(buf, "This is a String");
	if (good)
		printf("String= %s\n", buf);
	free(buf);
	if (strcmp(which, "printf") == 0)
		printf("String= %s\n", buf);
	return 0;
}
