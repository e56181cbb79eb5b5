/* https://github.com/void-linux/xbps/pull/46
 * initend.c: the scandir() loop frees each entry as it goes, but a break leaves the rest of
 * the entries and the namelist array unfreed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int only_conf(const struct dirent *d) { return strstr(d->d_name, ".conf") != NULL; }

int main(void) {
    mkdir("xbps.d", 0755);
    const char *names[] = {"00-repo.conf", "10-main.conf", "20-nonfree.conf", "30-local.conf"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "xbps.d/%s", names[i]);
        fclose(fopen(path, "w"));
    }
    struct dirent **namelist;
    int n = scandir("xbps.d", &namelist, only_conf, alphasort);
    for (int i = 0; i < n; i++) {
        printf("%s\n", namelist[i]->d_name);
        if (strcmp(namelist[i]->d_name, "10-main.conf") == 0)
            break; /* the bug: entries 1..3 and namelist leak */
        free(namelist[i]);
    }
    return 0;
}
