/* A ptrace tracer's view of the traced process's code, for the test programs that park a
   thread at a chosen instruction (exit_scan_stepped.c, exit_ending_parked.c): its executable
   mappings, read once from /proc/PID/maps (no code is mapped later), and which object an
   address lies in. Included by one file of each program; the tracer, a child forked from a
   threaded process, allocates nothing (every buffer here is static). Also its threads'
   status files, a sleep, and the fork of the tracer itself. Needs <fcntl.h>, <stdio.h>,
   <string.h>, <time.h>, <sys/prctl.h>, <sys/types.h> and <unistd.h>. */
#ifndef TRACEE_MAPS_H
#define TRACEE_MAPS_H

/* The executable mappings of the traced process, read once (no code is mapped later), and
   the tracer's buffers: the tracer, a child forked from a threaded process, allocates nothing. */
#define MAX_MAPPINGS 256
static struct mapping {
    unsigned long from, to, base;
    char name[96];
} mappings[MAX_MAPPINGS];
static int mapping_count;
static char text[1 << 17];

/* Reads `path` into `text` (NUL-terminated); its length, or -1. */
static long read_text(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long length = 0, got;
    while (length < (long)sizeof text - 1 &&
           (got = read(fd, text + length, sizeof text - 1 - length)) > 0)
        length += got;
    close(fd);
    text[length] = 0;
    return length;
}

static void read_mappings(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    if (read_text(path) < 0) return;
    char last[256] = "";
    unsigned long base = 0;
    for (char *line = text; *line && mapping_count < MAX_MAPPINGS;) {
        char *end = strchr(line, '\n');
        if (end) *end = 0;
        unsigned long from, to, offset;
        char perms[8], file[256] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %255s", &from, &to, perms, &offset, file) >= 4) {
            if (strcmp(file, last)) {
                base = from - offset;
                snprintf(last, sizeof last, "%s", file);
            }
            if (perms[2] == 'x') {
                struct mapping *m = &mappings[mapping_count++];
                const char *slash = strrchr(file, '/');
                m->from = from;
                m->to = to;
                m->base = base;
                snprintf(m->name, sizeof m->name, "%s", slash ? slash + 1 : file);
            }
        }
        if (!end) break;
        line = end + 1;
    }
}

/* The executable mapping holding `address`, or null. */
static const struct mapping *object_of(unsigned long address) {
    for (int i = 0; i < mapping_count; ++i)
        if (address >= mappings[i].from && address < mappings[i].to) return &mappings[i];
    return NULL;
}

/* Reads thread `tid`'s `/proc/PID/task/TID/status` into `text`; its length, or -1. */
static long read_task_status(pid_t pid, pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", pid, tid);
    return read_text(path);
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&pause, NULL);
}

/* Forks the tracer: lets any process trace this one, then runs `trace(pid, arg, out)` in the
   child (it must end with `_exit`), `out` the write end of a pipe whose read end is returned
   to the caller (or -1 when no pipe could be made). */
static int fork_tracer(void (*trace)(pid_t pid, const void *arg, int out), const void *arg) {
    int report[2];
    if (pipe(report)) return -1;
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    pid_t pid = getpid();
    if (fork() == 0) {
        close(report[0]);
        trace(pid, arg, report[1]);
        _exit(0);
    }
    close(report[1]);
    return report[0];
}

#endif
