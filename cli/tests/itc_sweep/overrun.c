/* Writes past heap blocks, after Toyota ITC's buffer_overrun_dynamic.c (programs of our own,
 * each naming the ITC function it stands for). "loop": a loop that writes one byte past a
 * 5-byte block (dynamic_buffer_overrun_001); "words": a write 4 bytes past the end of each of
 * five 20-byte blocks through an array of pointers to them (dynamic_buffer_overrun_009);
 * "good": within the blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void loop(int end)
{
	char *buf = calloc(5, sizeof(char));
	for (int i = 0; i <= end; i++)
		buf[i] = 1;
	free(buf);
}

static void words(int index)
{
	int *blocks[5];
	for (int i = 0; i < 5; i++)
		blocks[i] = calloc(5, sizeof(int));
	int **ptrs[5] = {&blocks[0], &blocks[1], &blocks[2], &blocks[3], &blocks[4]};
	for (int i = 0; i < 5; i++)
		*((*ptrs[i]) + index) = 5;
	for (int i = 0; i < 5; i++)
		free(blocks[i]);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "loop";
	if (strcmp(which, "loop") == 0)
		loop(5);
	else if (strcmp(which, "words") == 0)
		words(6);
	else {
		loop(4);
		words(4);
	}
	printf("done\n");
	return 0;
}
