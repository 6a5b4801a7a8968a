/*
 * nsrun: the front of a host-mode container (tsminc without --qemu), in one static process. It dies with
 * tsminc, makes the container's mount, uts, ipc (net, user) namespaces, mounts its root into the run's
 * tmpdir (an overlay on the rootfs, or the rootfs itself with --direct), joins the run's cgroups, then
 * starts COMMAND as the first process of a new pid namespace: the container's init (enter.sh --inside).
 * It waits for it and leaves with its status, 128+n when signal n killed it. What it replaces took
 * five execs (setpriv, unshare, a shell for prepare-root.sh, unshare --pid, a shell to wait), about
 * 5 ms of every run. Nothing is evaluated: every path and word arrives as an argument.
 *
 * nsrun [--user] [--net] [--direct] [--cgroup PROCS_FILE]... TMPDIR ROOTFS -- COMMAND [ARG]...
 *   --user     a user namespace whose root is the caller (--nopriv), with its uid and gid mapped to 0
 *   --net      a network namespace of its own
 *   --direct   bind the rootfs itself (tsminc --direct), not an overlay on it
 *   --cgroup   a cgroup.procs file to join (each of the run's cgroups, for its limits)
 * Its own failures print one "tsminc: ..." line and exit 125, tsminc's status for a launcher failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { LAUNCHER_FAILED = 125, MAX_CGROUPS = 16 };

static void die(const char *fmt, ...) {
    int saved = errno;
    va_list ap;
    fputs("tsminc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", strerror(saved));
    exit(LAUNCHER_FAILED);
}

/* Writes all of text to path (a /proc or cgroup file: one write, as the kernel wants). */
static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("cannot open %s", path);
    ssize_t len = (ssize_t)strlen(text);
    if (write(fd, text, (size_t)len) != len) die("cannot write %s", path);
    close(fd);
}

/* Kills this process when its parent dies, even by SIGKILL; a parent already gone ends it at once. */
static void die_with_parent(pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("cannot follow the parent process");
    if (getppid() != parent) _exit(LAUNCHER_FAILED);
}

/*
 * The same for the container's init, whose parent is outside its pid namespace (getppid() says 0):
 * the parent holds the write end of `alive` open while it lives, so a read that finds the end of
 * the pipe, not EAGAIN, means it is gone.
 */
static void die_with_waiter(int alive[2]) {
    char byte;
    close(alive[1]);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("cannot follow the parent process");
    if (read(alive[0], &byte, 1) == 0) _exit(LAUNCHER_FAILED);
    close(alive[0]);
}

/* The caller becomes root of a new user namespace; setgroups must be denied before gid_map is written. */
static void map_caller_to_root(uid_t uid, gid_t gid) {
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);
}

/*
 * The container's root at TMPDIR/root. The rootfs is bound at TMPDIR/lower first and made read-only,
 * and the overlay's options name lower, storage and work relative to TMPDIR: they show in the
 * container's /proc/self/mountinfo, and must not tell it where on the host its tmpdir is.
 */
static void mount_root(const char *tmp, const char *rootfs, int direct) {
    if (chdir(tmp) != 0) die("cannot enter %s", tmp);
    if (direct) {
        if (mount(rootfs, "root", NULL, MS_BIND, NULL) != 0) die("cannot bind %s", rootfs);
    } else {
        if (mount(rootfs, "lower", NULL, MS_BIND, NULL) != 0) die("cannot bind %s", rootfs);
        if (mount(NULL, "lower", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
            die("cannot make the bind of %s read-only", rootfs);
        if (mount("overlay", "root", "overlay", 0, "lowerdir=lower,upperdir=storage,workdir=work") != 0)
            die("cannot mount the overlay on %s", rootfs);
    }
    if (chdir("/") != 0) die("cannot enter /");
}

/* A caught signal (unlike an ignored one) is back to its default in the exec'd child. */
static void pass(int sig) { (void)sig; }

int main(int argc, char **argv) {
    pid_t parent = getppid();
    die_with_parent(parent);
    int user = 0, net = 0, direct = 0, ncgroups = 0;
    const char *cgroups[MAX_CGROUPS];
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0'; i++) {
        if (strcmp(argv[i], "--user") == 0) user = 1;
        else if (strcmp(argv[i], "--net") == 0) net = 1;
        else if (strcmp(argv[i], "--direct") == 0) direct = 1;
        else if (strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc && ncgroups < MAX_CGROUPS) cgroups[ncgroups++] = argv[++i];
        else {
            fprintf(stderr, "tsminc: nsrun: bad option %s\n", argv[i]);
            return LAUNCHER_FAILED;
        }
    }
    if (argc - i < 4 || strcmp(argv[i + 2], "--") != 0) {
        fputs("tsminc: usage: nsrun [--user] [--net] [--direct] [--cgroup FILE]... TMPDIR ROOTFS -- COMMAND...\n", stderr);
        return LAUNCHER_FAILED;
    }
    const char *tmp = argv[i], *rootfs = argv[i + 1];
    char **command = argv + i + 3;

    uid_t uid = getuid();
    gid_t gid = getgid();
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (net ? CLONE_NEWNET : 0) | (user ? CLONE_NEWUSER : 0);
    if (unshare(flags) != 0) die("cannot make the container's namespaces");
    if (user) map_caller_to_root(uid, gid);
    // Nothing mounted from here on reaches the host, and the host's later mounts stay out.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("cannot make the mounts private");
    mount_root(tmp, rootfs, direct);
    // Joined before the container starts, so every process of the run is counted: "0" moves this one.
    for (int c = 0; c < ncgroups; c++) write_file(cgroups[c], "0");

    if (unshare(CLONE_NEWPID) != 0) die("cannot make the container's pid namespace");
    // The terminal's Ctrl-C and Ctrl-\ are the container's: caught here, they leave the child alone.
    struct sigaction sa = {.sa_handler = pass};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int alive[2];
    if (pipe2(alive, O_CLOEXEC | O_NONBLOCK) != 0) die("cannot make a pipe");
    pid_t init = fork();
    if (init < 0) die("cannot start the container's init");
    if (init == 0) {
        // The container's PID 1 dies with this process, which dies with tsminc: nothing outlives a run.
        die_with_waiter(alive);
        execv(command[0], command);
        die("cannot run %s", command[0]);
    }
    close(alive[0]);
    int status;
    while (waitpid(init, &status, 0) < 0)
        if (errno != EINTR) die("cannot wait for the container");
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
