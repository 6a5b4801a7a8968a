/* guard.c: the guest's thrash guard (confine --guard CGROUP), started by guest-init before the job.
 *
 * A job at its memory cgroup's limit with no swap should be OOM-killed (137). The kernel kills only
 * when reclaim stops making progress, and the pages it can still reclaim are the job's own file
 * pages: the code of the programs running. Each one evicted is read back at the next instruction
 * that needs it, so reclaim "progresses" and the job can spin for minutes. Measured under TCG with
 * the root on its disk (--root-disk), `head -c 3000m /dev/zero | tail` at --mem 128M: 1.5 million
 * pages scanned, 270,000 read back, and most runs never ended.
 *
 * The guard arms a pressure trigger on the cgroup (PSI, CONFIG_PSI): woken when every task of the job
 * was stalled on memory for GUARD_STALL_US of a GUARD_WINDOW_US window, it kills what the kernel's
 * OOM killer would have: the job's process with the most resident memory. A job that merely uses its
 * memory, or reads files, is never all stalled for that long. It lives in the root cgroup, whose
 * pages the job's reclaim cannot take. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "guard.h"

enum { GUARD_STALL_US = 1000000, GUARD_WINDOW_US = 2000000 };

/* The resident pages of process `pid` (statm's second field), 0 when it is gone. */
static long resident(long pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/statm", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) return 0;
    long size = 0, rss = 0;
    if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = 0;
    fclose(f);
    return rss;
}

struct victim {
    long pid;
    long rss;
};

/* The process with the most resident memory in cgroup folder `dir` and the cgroups below it. */
static void biggest(const char *dir, struct victim *best, int depth) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *procs = fopen(path, "re");
    if (procs != NULL) {
        long pid;
        while (fscanf(procs, "%ld", &pid) == 1) {
            long rss = resident(pid);
            if (rss > best->rss) *best = (struct victim){pid, rss};
        }
        fclose(procs);
    }
    if (depth >= 16) return;
    DIR *d = opendir(dir);
    if (d == NULL) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        biggest(path, best, depth + 1);
    }
    closedir(d);
}

static void say_killed(long pid, long rss) {
    char path[64], name[32] = "?";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "re");
    if (f != NULL) {
        if (fgets(name, sizeof name, f) != NULL) name[strcspn(name, "\n")] = '\0';
        fclose(f);
    }
    fprintf(stderr, "tsminc: the job thrashed at its memory limit: killed %s (pid %ld, %ld KiB resident)\n", name,
            pid, rss * (sysconf(_SC_PAGESIZE) / 1024));
}

int guard_main(const char *cgroup) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/memory.pressure", cgroup);
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) die("--guard: cannot open %s", path);
    char trigger[64];
    int len = snprintf(trigger, sizeof trigger, "full %d %d", GUARD_STALL_US, GUARD_WINDOW_US);
    if (write(fd, trigger, (size_t)len + 1) < 0) die("--guard: cannot arm %s", path);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLPRI};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR) continue;
            die("--guard: cannot wait on %s", path);
        }
        // The cgroup is gone (the job ended): nothing left to guard.
        if (p.revents & (POLLERR | POLLNVAL)) return 0;
        if (!(p.revents & POLLPRI)) continue;
        struct victim v = {0, 0};
        biggest(cgroup, &v, 0);
        if (v.pid > 0 && kill((pid_t)v.pid, SIGKILL) == 0) say_killed(v.pid, v.rss);
    }
}
