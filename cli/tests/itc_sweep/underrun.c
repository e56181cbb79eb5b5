/* Writes before a heap block, after Toyota ITC's buffer_underrun_dynamic.c (programs of our own,
 * each naming the ITC function it stands for). "far": a 4-byte write 40 bytes before the
 * program's first block (dynamic_buffer_underrun_026; 011, 032, 037 and 038 write at other
 * distances before a first block); "near": a loop that runs one byte before its block
 * (dynamic_buffer_underrun_001); "good": the loops within the block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void far(void)
{
	char *buf = calloc(5, sizeof(char));
	int *words = (int *)buf;
	*(words - 10) = 1;
	free(buf);
}

static void near(void)
{
	char *buf = calloc(5, sizeof(char));
	for (int i = 4; i >= -1; i--)
		buf[i] = 1;
	free(buf);
}

static void good(void)
{
	char *buf = calloc(5, sizeof(char));
	int *words = calloc(2, sizeof(int));
	for (int i = 4; i >= 0; i--)
		buf[i] = 1;
	words[0] = 1;
	free(words);
	free(buf);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "far";
	if (strcmp(which, "far") == 0)
		far();
	else if (strcmp(which, "near") == 0)
		near();
	else
		good();
	printf("done\n");
	return 0;
}
