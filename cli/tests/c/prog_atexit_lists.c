/* Linked against prog_atexit_lists_so.c (see there). Valgrind 3.19: in use at exit: 0 bytes
 * in 0 blocks, all heap blocks were freed. */
void prog_atexit_lists_so(void);

int main(void)
{
    prog_atexit_lists_so();
    return 0;
}
