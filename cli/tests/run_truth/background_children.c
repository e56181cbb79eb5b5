/* Processes the program leaves running when it exits, one per run (argv[1]):
 *   orphan: a forked child that leaks 55 bytes and exits half a second after its parent.
 *           Valgrind reports it from the child when it ends ("55 bytes in 1 blocks are
 *           definitely lost"); gpa run waits for it and reports it in the run.
 *   daemon: a forked child that starts its own session, puts its standard streams on
 *           /dev/null and sleeps for 30 seconds: gpa run
 *           stops waiting after 5 seconds and lists it as still running (not checked). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int daemon = argc > 1 && strcmp(argv[1], "daemon") == 0;
    if (fork() == 0) {
        if (daemon) {
            /* As daemon(3) does: its own session, standard streams on /dev/null. */
            setsid();
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            sleep(30);
            _exit(0);
        }
        usleep(500 * 1000);
        char *dropped = malloc(55);
        strcpy(dropped, "orphan's");
        dropped = NULL;
        _exit(0);
    }
    puts("parent done");
    return 0;
}
