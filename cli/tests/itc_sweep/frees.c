/* Bad frees, after Toyota ITC's double_free.c, free_nondynamic_allocated_memory.c and
 * free_null_pointer.c (programs of our own, each naming the ITC function it stands for).
 * "double": a 1-byte block freed twice (double_free_001); "literal": a string literal freed
 * (free_nondynamic_allocated_memory_003); "stack": a stack array freed
 * (free_nondynamic_allocated_memory_001); "good": each block freed once and free(NULL), which
 * is no error (free_null_pointer's without-defect functions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *global_ptr;

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "double";
	if (strcmp(which, "double") == 0) {
		char *ptr = malloc(sizeof(char));
		free(ptr);
		free(ptr);
	} else if (strcmp(which, "literal") == 0) {
		global_ptr = "STRING";
		free(global_ptr);
	} else if (strcmp(which, "stack") == 0) {
		char buf[10] = "A String";
		char *ptr = buf;
		free(ptr);
	} else {
		char *ptr = malloc(10 * sizeof(char));
		free(ptr);
		ptr = NULL;
		free(ptr);
	}
	printf("done\n");
	return 0;
}
