/* Allocations that fail, after Toyota ITC's memory_allocation_failure.c (programs of our own,
 * each naming the ITC function it stands for). "fishy": malloc of UINT_MAX held in an int,
 * that is of (size_t)-1 (memory_allocation_failure_013, _011 and _015: the program then writes
 * through the null pointer; here it checks it); "good": the same allocation of 5 bytes
 * (the without-defect function's size). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int size_of(int fail)
{
	int size = 5;
	if (fail)
		size = UINT_MAX;
	return size;
}

int main(int argc, char **argv)
{
	int good = argc > 1 && strcmp(argv[1], "good") == 0;
	char *text = malloc(size_of(!good) * sizeof(char));
	if (text == NULL) {
		printf("no memory\n");
		return 0;
	}
	strcpy(text, "STR");
	printf("%s\n", text);
	free(text);
	return 0;
}
