/*
 * nsrun: the host-side front of every tsminc container, in one static process. It dies with tsminc,
 * makes the container's mount, uts, ipc (net, user) namespaces, mounts its root into the run's
 * tmpdir (an overlay on the rootfs, the rootfs itself with --direct, or nothing when the guest makes
 * it from a root disk), stages the bind sources for
 * the VM's share, joins the run's cgroups, then
 *   - ns mode: starts COMMAND as the first process of a new pid namespace, the container's init
 *     (enter.sh --inside), waits for it and leaves with its status, 128+n when signal n killed it;
 *   - vm mode (--exec): becomes COMMAND, qemu, whose 9p share is the tmpdir.
 * First of all it forks a janitor that stays in the host's namespaces: when tsminc is killed outright
 * (SIGKILL leaves it no chance to clean up), the janitor removes the run's tmpdir (or trims a kept
 * one to its writes) and its cgroups, once the run is gone. When tsminc ends normally it has cleaned
 * up itself, and the janitor finds nothing to do. Nothing is evaluated: every path and word arrives
 * as an argument.
 *
 * nsrun [--user] [--net | --netns PATH] [--direct | --guest-root] [--hostname NAME] [--bind SRC]... [--cgroup PROCS_FILE]...
 *       [--exec [--incoming FD PATH]] [--slirp OPT]... [--slirp-socket PATH] [--slirp-request JSON]...
 *       [--bridge TAP [--uplink IF]] TMPDIR ROOTFS -- COMMAND [ARG]...
 *   --user      a user namespace whose root is the caller (--nopriv), with its uid and gid mapped to 0
 *   --net       a network namespace of its own
 *   --netns     the network namespace at PATH instead (an OCI engine's, made for the container)
 *   --direct    bind the rootfs itself (tsminc --direct), not an overlay on it
 *   --guest-root  mount no root: the guest overlays its root disk with TMPDIR/upper.ext4 (vm mode)
 *   --hostname  the container's hostname, set in its uts namespace
 *   --bind      a host path to bind at TMPDIR/binds/N (N counts from 0), for the VM's share
 *   --cgroup    a cgroup.procs file to join (each of the run's cgroups, for its limits)
 *   --exec      COMMAND replaces nsrun once everything is mounted: no pid namespace (vm mode), and no
 *               transparent huge pages
 *   --incoming  with --exec: PATH (a saved VM state) opened read-only as COMMAND's descriptor FD, which
 *               qemu resumes from (-incoming fd:FD): it reads the file itself, with no cat and no pipe
 *   --slirp OPT            --network user: slirp4netns, with this option (repeatable), gives the
 *                          network namespace its NAT (see slirp.c); nsrun adds the rest
 *   --slirp-socket PATH    its API socket
 *   --slirp-request JSON   a request for that socket once it is ready (a port to publish), repeatable
 *   --bridge TAP           vm mode: qemu's NIC, the tap TAP, bridged with slirp4netns's tap0
 *   --uplink IF            bridge TAP with IF instead, whose IPv4 and MAC addresses the VM takes over
 *                          (the engine's interface in --netns: the guest is configured with them)
 * nsrun --console-socket PATH [--console-size ROWS COLS] -- COMMAND [ARG]...: see console.c.
 * nsrun --probe-io-uring: exits 0 when this process may set up an io_uring (qemu's aio=io_uring for
 * the root's disks), 1 when the kernel or a seccomp filter refuses it; prints nothing.
 * Its own failures print one "tsminc: ..." line and exit 125, tsminc's status for a launcher failure.
 */
#define _GNU_SOURCE
#include "common.h"
#include "console.h"
#include "slirp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/io_uring.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>



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

static int pidfd_of(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* Blocks until the process behind pidfd has exited. */
static void wait_exit(int pidfd) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
}

/*
 * Removes `name` in the folder `parent` and, for a folder, everything under it, depth first: never
 * following a symlink and never entering another filesystem (a mount that is still there). Folders
 * closed to their owner (overlay leaves work/work at mode 000) are opened first. 0 when it is gone.
 */
static int remove_at(int parent, const char *name, dev_t dev) {
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    if (st.st_dev != dev) return -1;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) remove_at(dirfd(dir), e->d_name, dev);
    closedir(dir);
    return unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

/* What a kept tmpdir keeps (tsminc -k): the container's writes (storage/, or upper.ext4 of a root
 * disk run) and what the overlay needs. */
static int kept(const char *name) {
    return strcmp(name, "root") == 0 || strcmp(name, "lower") == 0 || strcmp(name, "storage") == 0 ||
           strcmp(name, "work") == 0 || strcmp(name, "upper.ext4") == 0;
}

/* Field 22 of /proc/PID/stat, the start time of a process that still runs: with the pid, it names it. */
static int start_time(long pid, char *out, size_t size) {
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) return -1;
    stat[n] = '\0';
    char *field = strrchr(stat, ')');
    // Field 3, the state: a zombie (Z) or a dead task (X) has ended, whatever its parent has reaped.
    if (field == NULL || field[1] != ' ' || field[2] == 'Z' || field[2] == 'X') return -1;
    // The 20th space after the command name comes before field 22.
    for (int i = 0; field != NULL && i < 20; i++) field = strchr(field + 1, ' ');
    if (field == NULL) return -1;
    snprintf(out, size, "%.*s", (int)strcspn(field + 1, " "), field + 1);
    return 0;
}

/* Whether the run the owner file (tsminc's JSON: pid, start, keep) names is still running. */
static int owner_alive(const char *owner) {
    const char *pid = strstr(owner, "\"pid\":"), *start = strstr(owner, "\"start\":\"");
    char now[64];
    if (pid == NULL || start == NULL || start_time(strtol(pid + 6, NULL, 10), now, sizeof now) != 0) return 0;
    start += 9;
    return strncmp(start, now, strlen(now)) == 0 && start[strlen(now)] == '"';
}

/*
 * What tsminc would have done at the end of the run: the tmpdir removed, or trimmed to its writes
 * when kept. Its owner file goes last, so an interrupted cleanup is still found by tsminc gc.
 * 0 when done; 1 when there is nothing to do: no owner file (tsminc cleaned up), or an owner that
 * still runs (nsrun was started by another process than the run's owner, which cleans up itself).
 */
static int clean_tmpdir(const char *tmp) {
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 1;
    char owner[512] = "";
    int ofd = openat(fd, "owner", O_RDONLY | O_CLOEXEC);
    if (ofd < 0) {
        close(fd);
        return 1;
    }
    ssize_t n = read(ofd, owner, sizeof owner - 1);
    close(ofd);
    if (owner_alive(owner)) {
        close(fd);
        return 1;
    }
    int keep = n > 0 && strstr(owner, "\"keep\":true") != NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    int failed = 0;
    DIR *dir = fdopendir(dup(fd));
    struct dirent *e;
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "owner") == 0) continue;
        if (keep && kept(e->d_name)) continue;
        if (remove_at(fd, e->d_name, st.st_dev) != 0) failed = 1;
    }
    if (dir != NULL) closedir(dir);
    if (!failed) failed = remove_at(fd, "owner", st.st_dev) != 0;
    close(fd);
    if (!failed && !keep) failed = rmdir(tmp) != 0 && errno != ENOENT;
    return failed ? -1 : 0;
}

static void nap(long ms) {
    struct timespec t = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
    nanosleep(&t, NULL);
}

/*
 * The janitor: in its own session, on /dev/null, deaf to the signals that end a run. It waits for
 * tsminc to end, then for the run (nsrun, or the qemu it became), then cleans up what tsminc left.
 * The run's last processes may take a moment to go (their mounts with them): it tries for 5 s.
 */
static void janitor(int tsminc, int run, const char *tmp, const char *const *cgroups, int ncgroups) {
    setsid();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd <= 2; fd++) dup2(null, fd);
    // Nothing of the run's stays open here (its sync pipes, say): whoever waits for them to close
    // would wait for the janitor, which waits for tsminc.
    for (int fd = 3; fd < 1024; fd++)
        if (fd != tsminc && fd != run) close(fd);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) signal(s, SIG_IGN);
    wait_exit(tsminc);
    wait_exit(run);
    for (int attempt = 0; attempt < 250 && clean_tmpdir(tmp) < 0; attempt++) nap(20);
    for (int c = 0; c < ncgroups; c++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", cgroups[c]);
        for (int attempt = 0; attempt < 250 && rmdir(dirname(dir)) != 0 && errno == EBUSY; attempt++) {
            nap(20);
            snprintf(dir, sizeof dir, "%s", cgroups[c]);
        }
    }
}

/*
 * Starts the janitor as a grandchild (re-parented at once, so it is no child of the run's init or of
 * qemu). Without pidfds (Linux < 5.3) there is none, and tsminc gc is the only cleanup.
 */
static void start_janitor(pid_t parent, const char *tmp, const char *const *cgroups, int ncgroups) {
    int tsminc = pidfd_of(parent);
    int run = pidfd_of(getpid());
    if (tsminc < 0 || run < 0 || getppid() != parent) return;
    pid_t child = fork();
    if (child == 0) {
        if (fork() == 0) {
            janitor(tsminc, run, tmp, cgroups, ncgroups);
            _exit(0);
        }
        _exit(0);
    }
    if (child > 0) waitpid(child, NULL, 0);
    close(tsminc);
    close(run);
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
 * container's /proc/self/mountinfo, and must not tell it where on the host its tmpdir is. The bind
 * sources go to TMPDIR/binds/N, where the VM's share shows them to the guest.
 */
static void mount_root(const char *tmp, const char *rootfs, int direct, int guest_root, const char *const *binds,
                       int nbinds) {
    if (chdir(tmp) != 0) die("cannot enter %s", tmp);
    // With --guest-root the guest makes the root: its disk, packed from the rootfs, under TMPDIR/upper.ext4.
    if (direct) {
        if (mount(rootfs, "root", NULL, MS_BIND, NULL) != 0) die("cannot bind %s", rootfs);
    } else if (!guest_root) {
        if (mount(rootfs, "lower", NULL, MS_BIND, NULL) != 0) die("cannot bind %s", rootfs);
        if (mount(NULL, "lower", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
            die("cannot make the bind of %s read-only", rootfs);
        if (mount("overlay", "root", "overlay", 0, "lowerdir=lower,upperdir=storage,workdir=work") != 0)
            die("cannot mount the overlay on %s", rootfs);
    }
    for (int b = 0; b < nbinds; b++) {
        char target[32];
        snprintf(target, sizeof target, "binds/%d", b);
        if (mount(binds[b], target, NULL, MS_BIND, NULL) != 0) die("cannot bind %s", binds[b]);
    }
    if (chdir("/") != 0) die("cannot enter /");
}

/* On a terminal (tsminc's pseudo-terminal) qemu passes the guest's bytes on as they are: the guest's
 * tty already turns "\n" into "\r\n", and this one would add another "\r". */
static void raw_output(void) {
    struct termios t;
    if (tcgetattr(0, &t) != 0) return;
    t.c_oflag &= ~(tcflag_t)ONLCR;
    tcsetattr(0, TCSANOW, &t);
}

/* The folder of a cgroup.procs file, opened, when it is a cgroup v2 one; else -1. */
static int open_v2(const char *procs) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", procs);
    struct statfs fs;
    if (statfs(dirname(dir), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) return -1;
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * Starts the container's init: born into the cgroup v2 folder `cgroup` (CLONE_INTO_CGROUP, Linux
 * 5.7) when there is one. Moving a process by writing cgroup.procs waits for an RCU grace period in
 * the kernel: 11 to 18 ms a write, measured here, against nothing for a process born there. A kernel
 * without clone3 gets the write.
 */
static pid_t start_init(int cgroup, const char *procs) {
    if (cgroup >= 0) {
        struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup};
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0 || (errno != ENOSYS && errno != E2BIG)) return (pid_t)pid;
        write_file(procs, "0");
    }
    return fork();
}

/* A caught signal (unlike an ignored one) is back to its default in the exec'd child. */
static void pass(int sig) { (void)sig; }

static void usage(void) {
    fputs("tsminc: usage: nsrun [--user] [--net] [--direct | --guest-root] [--hostname NAME] [--bind SRC]... [--cgroup FILE]... "
          "[--exec [--incoming FD PATH]] [--netns PATH] [--slirp OPT]... [--slirp-socket PATH] [--slirp-request JSON]... [--bridge TAP] [--uplink IF] "
          "TMPDIR ROOTFS -- COMMAND...\n",
          stderr);
    exit(LAUNCHER_FAILED);
}

/* An io_uring of two entries, set up and closed at once: whether qemu could have one. */
static int probe_io_uring(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int fd = (int)syscall(SYS_io_uring_setup, 2, &params);
    if (fd < 0) return 1;
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--console-socket") == 0) console_main(argc, argv);
    if (argc == 2 && strcmp(argv[1], "--probe-io-uring") == 0) return probe_io_uring();
    pid_t parent = getppid();
    die_with_parent(parent);
    int user = 0, net = 0, direct = 0, guest_root = 0, exec_mode = 0, ncgroups = 0, nbinds = 0;
    const char *hostname = NULL, *bridge = NULL, *netns = NULL, *uplink = NULL, *incoming = NULL;
    int incoming_fd = -1;
    // Never more of any list than there are arguments.
    const char **cgroups = calloc((size_t)argc, sizeof *cgroups), **binds = calloc((size_t)argc, sizeof *binds);
    struct slirp slirp = {.options = calloc((size_t)argc, sizeof(char *)), .requests = calloc((size_t)argc, sizeof(char *))};
    if (cgroups == NULL || binds == NULL || slirp.options == NULL || slirp.requests == NULL) die("out of memory");
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0'; i++) {
        int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--user") == 0) user = 1;
        else if (strcmp(argv[i], "--net") == 0) net = 1;
        else if (strcmp(argv[i], "--direct") == 0) direct = 1;
        else if (strcmp(argv[i], "--guest-root") == 0) guest_root = 1;
        else if (strcmp(argv[i], "--exec") == 0) exec_mode = 1;
        else if (strcmp(argv[i], "--incoming") == 0 && i + 2 < argc) {
            incoming_fd = atoi(argv[++i]);
            incoming = argv[++i];
        }
        else if (strcmp(argv[i], "--slirp") == 0 && has_value) slirp.options[slirp.noptions++] = argv[++i];
        else if (strcmp(argv[i], "--slirp-socket") == 0 && has_value) slirp.socket = argv[++i];
        else if (strcmp(argv[i], "--slirp-request") == 0 && has_value) slirp.requests[slirp.nrequests++] = argv[++i];
        else if (strcmp(argv[i], "--bridge") == 0 && has_value) bridge = argv[++i];
        else if (strcmp(argv[i], "--uplink") == 0 && has_value) uplink = argv[++i];
        else if (strcmp(argv[i], "--netns") == 0 && has_value) netns = argv[++i];
        else if (strcmp(argv[i], "--hostname") == 0 && has_value) hostname = argv[++i];
        else if (strcmp(argv[i], "--cgroup") == 0 && has_value) cgroups[ncgroups++] = argv[++i];
        else if (strcmp(argv[i], "--bind") == 0 && has_value) binds[nbinds++] = argv[++i];
        else {
            fprintf(stderr, "tsminc: nsrun: bad option %s\n", argv[i]);
            return LAUNCHER_FAILED;
        }
    }
    if (argc - i < 4 || strcmp(argv[i + 2], "--") != 0 || (incoming != NULL && (!exec_mode || incoming_fd < 3)))
        usage();
    // Opened as the caller, before any namespace: the state file is the caller's cache's.
    int state = -1;
    if (incoming != NULL) {
        if (fcntl(incoming_fd, F_GETFD) >= 0) {
            errno = EBUSY;
            die("cannot pass %s as descriptor %d: it is taken", incoming, incoming_fd);
        }
        state = open(incoming, O_RDONLY | O_CLOEXEC);
        if (state < 0) die("cannot open the saved VM state %s", incoming);
    }
    const char *tmp = argv[i], *rootfs = argv[i + 1];
    char **command = argv + i + 3;
    start_janitor(parent, tmp, cgroups, ncgroups);
    slirp.tmpdir = tmp;
    if (slirp.socket != NULL) slirp_fork(&slirp, user);

    uid_t uid = getuid();
    gid_t gid = getgid();
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (net ? CLONE_NEWNET : 0) | (user ? CLONE_NEWUSER : 0);
    if (netns != NULL) {
        int fd = open(netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) die("cannot join the network namespace %s", netns);
        close(fd);
    }
    if (unshare(flags) != 0) die("cannot make the container's namespaces");
    if (user) map_caller_to_root(uid, gid);
    if (slirp.socket != NULL) slirp_release(&slirp);
    // sethostname(2), not /proc/sys/kernel/hostname: a user namespace's root may set the name of
    // its own uts namespace, but that file belongs to the initial namespace's root.
    if (hostname != NULL && sethostname(hostname, strlen(hostname)) != 0) die("cannot set the hostname");
    // Nothing mounted from here on reaches the host, and the host's later mounts stay out.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("cannot make the mounts private");
    mount_root(tmp, rootfs, direct, guest_root, binds, nbinds);
    // Joined before the container starts, so every process of the run is counted: "0" moves this one.
    // In ns mode the run's cgroup v2 folder (there is one at most) is its init's by birth instead.
    int born_into = -1;
    const char *born_procs = NULL;
    for (int c = 0; c < ncgroups; c++) {
        if (!exec_mode && born_into < 0 && (born_into = open_v2(cgroups[c])) >= 0) {
            born_procs = cgroups[c];
            continue;
        }
        write_file(cgroups[c], "0");
    }

    // The network is ready (and the ports published) before anything of the container starts.
    if (slirp.socket != NULL) slirp_ready(&slirp);
    if (bridge != NULL) bridge_tap(bridge, uplink, tmp);
    if (exec_mode) {
        if (isatty(0)) raw_output();
        // No transparent huge pages for qemu (it asks for them on guest RAM): a resumed snapshot
        // writes its data pages here and there, and the host would back 2 MiB for each (a warm run of
        // a 2 GiB guest: 156 MiB resident with them, 116 without, as fast: snapshots hold no zero pages).
        if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) die("cannot turn off transparent huge pages for %s", command[0]);
        // dup2 leaves the copy open across exec; when the state got FD itself, its close-on-exec goes.
        if (state >= 0 && (state == incoming_fd ? fcntl(state, F_SETFD, 0) : dup2(state, incoming_fd)) < 0)
            die("cannot pass the saved VM state to %s", command[0]);
        execvp(command[0], command);
        die("cannot run %s", command[0]);
    }
    if (unshare(CLONE_NEWPID) != 0) die("cannot make the container's pid namespace");
    // The terminal's Ctrl-C and Ctrl-\ are the container's: caught here, they leave the child alone.
    struct sigaction sa = {.sa_handler = pass};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int alive[2];
    if (pipe2(alive, O_CLOEXEC | O_NONBLOCK) != 0) die("cannot make a pipe");
    pid_t init = start_init(born_into, born_procs);
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
