/*
 * confine: the native steps of every tsminc container's entry (guest-init/enter.sh, in the VM and in
 * ns mode), one exec each where the shell would fork busybox a dozen times or more.
 *
 * Before the pivot, `confine --mount-root ROOT` mounts the container's own filesystems inside ROOT:
 * the root itself as a mount point, proc, sysfs (read-only), a tmpfs /tmp, and a small /dev: a tmpfs
 * with the standard nodes (bound from the caller's /dev in a user namespace, which may not make
 * them), the fd links, devpts and shm; or devtmpfs with --usedev; and the console on a terminal.
 * Mount points that are symlinks in ROOT are replaced, never followed.
 *
 * As the last step it applies the container's confinement to itself, then execs the command. In order:
 *   0. /proc and /sys as docker leaves them: what writes host-wide (or VM-wide) state read-only,
 *      what shows kernel memory, timers or keys masked; then, with --read-only, the root read-only;
 *   1. the device filter on the container's cgroup: only the standard nodes (null, zero, full,
 *      random, urandom, tty, console, ptmx, pts) and the devices the container's own stdio already
 *      are may be opened; any node may still be made (mknod), as in docker. On cgroup v2 (hosts) it
 *      is a BPF program; on the v1 devices controller (the VM, or a host without cgroup2), the
 *      controller's deny and allow lists;
 *   2. the seccomp filter: the system calls docker's default profile refuses fail with EPERM, unless
 *      a capability the container keeps is what lifts them there; the CPU's other system call ABIs
 *      (i386 and x32 on x86_64, 32-bit arm on arm64) kill the process;
 *   3. the capability bounding set, the user and group ids, the permitted, effective and inheritable
 *      sets (no ambient ones), and no_new_privs when asked.
 * Each step is optional. The mounts come before the seccomp filter (which refuses mount), and the
 * filter goes in while the process still holds CAP_SYS_ADMIN. It runs after the pivot: every path
 * is the container's.
 *
 * confine --mount-root ROOT [--usedev] [--nopriv] [--console PATH]
 * confine --wake S NS SEEDHEX   the wall clock and a CRNG reseed after a snapshot restore (wake.c)
 * confine --guard CGROUP         kills the job's biggest process when it thrashes at its memory limit (guard.c)
 * confine --remount PATH FLAGS   a bind's options on top of its flags: FLAGS is a comma list of ro,
 *                                nosuid, nodev, noexec (enter.sh, for the container's binds)
 * confine [--mask] [--read-only] [--caps HEX] [--user UID:GID] [--groups G1:G2:...]
 *         [--rlimit NAME:SOFT:HARD]... [--seccomp] [--no-new-privs]
 *         [--devices-cgroup-fd N] [--env-fd N] -- PATH [ARG]...
 *   --usedev                 devtmpfs as /dev
 *   --nopriv                 in a user namespace: nodes bound from /dev, no gid=5 for devpts
 *   --console PATH           the terminal to bind at /dev/console
 *   --mask                   /proc and /sys paths read-only or masked (step 0)
 *   --read-only              the root read-only; /tmp, /dev and binds are mounts of their own
 *   --caps HEX               the capabilities the command keeps (a bit per capability number)
 *   --user UID:GID           run as these ids, with GID as the only group unless --groups
 *   --groups G1:G2:...       the supplementary groups (config.json's additionalGids, --group-add)
 *   --rlimit NAME:SOFT:HARD  a resource limit (nofile, nproc, core...; "unlimited"), repeatable
 *   --seccomp                the default seccomp filter
 *   --no-new-privs           no setuid or file capability can raise the command's privileges
 *   --devices-cgroup-fd N    the container's cgroup (a folder opened as N, v2 or v1 devices): join it, filter
 *   --env-fd N               the command's whole environment: NUL-ended KEY=VALUE entries read from N
 *   --cwd DIR                the folder the command starts in (exec.sh; enter.sh changes folder itself)
 * A bare command name is looked up in the environment's PATH (exec.sh); 127 when it is not found.
 * Its own failures print one "tsminc: ..." line and exit 125.
 */
#define _GNU_SOURCE
#include "common.h"
#include "guard.h"
#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the seccomp filter reads the low half of a 64-bit argument at its start: little-endian only"
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__)
#define NATIVE_ARCH AUDIT_ARCH_ARM
#else
#error "confine knows x86_64, arm64 and arm"
#endif

enum { ALWAYS = -1 };


static void remount_read_only(const char *path);

/* ---- before the pivot: the container's filesystems ---- */

/* A mount point inside root: a symlink there is removed (never followed), a missing folder made. */
static void mount_point(int root, const char *name) {
    struct stat st;
    if (fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && unlinkat(root, name, 0) != 0)
        die("cannot replace the symlink /%s in the rootfs", name);
    if (mkdirat(root, name, 0755) != 0 && errno != EEXIST) die("cannot make /%s in the rootfs", name);
}

static void mount_at(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
    if (mount(source, target, type, flags, data) != 0) die("cannot mount %s on %s", type != NULL ? type : source, target);
}

/* A file to bind something onto: made empty, never through a symlink. */
static void bind_target(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) die("cannot make %s", path);
    close(fd);
}

static const struct {
    const char *name;
    unsigned major, minor;
} NODES[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

static const struct {
    const char *name, *target;
} LINKS[] = {{"fd", "/proc/self/fd"},
             {"stdin", "/proc/self/fd/0"},
             {"stdout", "/proc/self/fd/1"},
             {"stderr", "/proc/self/fd/2"},
             {"ptmx", "pts/ptmx"}};

static void mount_dev(const char *root, int usedev, int nopriv, const char *console) {
    char dev[4096], path[4200];
    snprintf(dev, sizeof dev, "%s/dev", root);
    if (usedev) {
        mount_at("devtmpfs", dev, "devtmpfs", MS_NOSUID, NULL);
    } else {
        mount_at("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=0755,size=64k");
        for (size_t i = 0; i < sizeof NODES / sizeof NODES[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", dev, NODES[i].name);
            if (nopriv) {
                char host[64];
                snprintf(host, sizeof host, "/dev/%s", NODES[i].name);
                bind_target(path);
                mount_at(host, path, NULL, MS_BIND, NULL);
            } else if (mknod(path, S_IFCHR | 0666, makedev(NODES[i].major, NODES[i].minor)) != 0 || chmod(path, 0666) != 0) {
                die("cannot make %s", path);
            }
        }
        for (size_t i = 0; i < sizeof LINKS / sizeof LINKS[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", dev, LINKS[i].name);
            if (symlink(LINKS[i].target, path) != 0) die("cannot make %s", path);
        }
    }
    snprintf(path, sizeof path, "%s/pts", dev);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die("cannot make %s", path);
    // gid 5 (tty) means nothing in a user namespace that maps only the caller.
    mount_at("devpts", path, "devpts", 0, nopriv ? "newinstance,ptmxmode=0666,mode=0620" : "newinstance,ptmxmode=0666,mode=0620,gid=5");
    // /dev/shm is a plain sticky folder on this tmpfs; the pivot parks the old root on it.
    snprintf(path, sizeof path, "%s/shm", dev);
    if (mkdir(path, 01777) == 0) chmod(path, 01777);
    else if (errno != EEXIST) die("cannot make %s", path);
    if (console != NULL) {
        snprintf(path, sizeof path, "%s/console", dev);
        bind_target(path);
        mount_at(console, path, NULL, MS_BIND, NULL);
    }
}

static void mount_root(const char *root, int usedev, int nopriv, const char *console) {
    char path[4200];
    // Nothing mounted here reaches the namespace this one was copied from.
    mount_at(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    // pivot_root needs the new root to be a mount point.
    mount_at(root, root, NULL, MS_BIND, NULL);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("cannot enter %s", root);
    for (const char *const *name = (const char *const[]){"proc", "sys", "tmp", "dev", NULL}; *name != NULL; name++)
        mount_point(fd, *name);
    close(fd);
    snprintf(path, sizeof path, "%s/proc", root);
    mount_at("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    snprintf(path, sizeof path, "%s/sys", root);
    // A user namespace may mount sysfs only with a network namespace of its own: else the caller's,
    // bound, read-only too.
    if (mount("sysfs", path, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        mount_at("/sys", path, NULL, MS_BIND | MS_REC, NULL);
        remount_read_only(path);
    }
    snprintf(path, sizeof path, "%s/tmp", root);
    mount_at("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_dev(root, usedev, nopriv, console);
}

/* ---- after the pivot: 0. mounts ---- */

/* What writes host-wide state: read-only. */
static const char *const READ_ONLY[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"};

/* What shows kernel memory, timers, keys, firmware: masked (an empty read-only tmpfs, or /dev/null). */
static const char *const MASKED[] = {
    "/proc/kcore",         "/proc/keys",        "/proc/timer_list", "/proc/sched_debug",
    "/proc/acpi",          "/proc/scsi",        "/proc/asound",     "/proc/latency_stats",
    "/proc/timer_stats",   "/sys/firmware",     "/sys/devices/virtual/powercap",
};

/* Remounts the mount at `path` with `add` (MS_RDONLY, MS_NOSUID...) on top of the flags it has (a user
 * namespace may not drop them). */
static void remount_adding(const char *path, unsigned long add) {
    struct statvfs sv;
    if (statvfs(path, &sv) != 0) die("cannot look at %s", path);
    unsigned long keep = 0;
    if (sv.f_flag & ST_RDONLY) keep |= MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) keep |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) keep |= MS_RELATIME;
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep | add, NULL) != 0) die("cannot remount %s", path);
}

static void remount_read_only(const char *path) { remount_adding(path, MS_RDONLY); }

/* confine --remount PATH FLAGS: a bind's options (ro,nosuid,nodev,noexec), applied by enter.sh. */
static int remount_main(const char *path, const char *flags) {
    unsigned long add = 0;
    char list[256];
    snprintf(list, sizeof list, "%s", flags);
    for (char *save = NULL, *word = strtok_r(list, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        if (strcmp(word, "ro") == 0) add |= MS_RDONLY;
        else if (strcmp(word, "nosuid") == 0) add |= MS_NOSUID;
        else if (strcmp(word, "nodev") == 0) add |= MS_NODEV;
        else if (strcmp(word, "noexec") == 0) add |= MS_NOEXEC;
        else die("unknown mount option %s", word);
    }
    if (add != 0) remount_adding(path, add);
    return 0;
}

static void mask_paths(void) {
    struct stat st;
    for (size_t i = 0; i < sizeof READ_ONLY / sizeof READ_ONLY[0]; i++) {
        if (stat(READ_ONLY[i], &st) != 0) continue;
        if (mount(READ_ONLY[i], READ_ONLY[i], NULL, MS_BIND | MS_REC, NULL) != 0) die("cannot bind %s", READ_ONLY[i]);
        remount_read_only(READ_ONLY[i]);
    }
    for (size_t i = 0; i < sizeof MASKED / sizeof MASKED[0]; i++) {
        if (stat(MASKED[i], &st) != 0) continue;
        int r = S_ISDIR(st.st_mode)
                    ? mount("tmpfs", MASKED[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555")
                    : mount("/dev/null", MASKED[i], NULL, MS_BIND, NULL);
        if (r != 0) die("cannot mask %s", MASKED[i]);
    }
}

/* ---- 1. devices ---- */

struct device {
    int type; /* BPF_DEVCG_DEV_CHAR or _BLOCK */
    long major, minor; /* -1: any */
};

/* The nodes a container may open (runc's and docker's default list). */
static const struct device STANDARD[] = {
    {BPF_DEVCG_DEV_CHAR, 1, 3},  /* null */
    {BPF_DEVCG_DEV_CHAR, 1, 5},  /* zero */
    {BPF_DEVCG_DEV_CHAR, 1, 7},  /* full */
    {BPF_DEVCG_DEV_CHAR, 1, 8},  /* random */
    {BPF_DEVCG_DEV_CHAR, 1, 9},  /* urandom */
    {BPF_DEVCG_DEV_CHAR, 5, 0},  /* tty */
    {BPF_DEVCG_DEV_CHAR, 5, 1},  /* console */
    {BPF_DEVCG_DEV_CHAR, 5, 2},  /* ptmx */
    {BPF_DEVCG_DEV_CHAR, 136, -1}, /* pts */
};

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
    return i;
}

/* Appends "if reg != value, skip `skip` instructions". */
static int jne(struct bpf_insn *p, int n, int reg, long value, int skip) {
    p[n] = insn(BPF_JMP | BPF_JNE | BPF_K, (uint8_t)reg, 0, (int16_t)skip, (int32_t)value);
    return n + 1;
}

/*
 * The program: access_type's low half is the type, its high half the access (mknod, read, write);
 * a mknod alone is allowed, an open only for a device in `allowed`.
 */
static int device_program(struct bpf_insn *p, const struct device *allowed, int count) {
    int n = 0, to_allow[64], jumps = 0;
    p[n++] = insn(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);      /* r2 = access_type */
    p[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, 3, 2, 0, 0);      /* r3 = r2 */
    p[n++] = insn(BPF_ALU | BPF_AND | BPF_K, 3, 0, 0, 0xffff); /* r3: the type */
    p[n++] = insn(BPF_ALU | BPF_RSH | BPF_K, 2, 0, 0, 16);     /* r2: the access */
    p[n++] = insn(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);      /* r4 = major */
    p[n++] = insn(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);      /* r5 = minor */
    to_allow[jumps++] = n;
    p[n++] = insn(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 0, BPF_DEVCG_ACC_MKNOD);
    for (int d = 0; d < count; d++) {
        const struct device *dev = &allowed[d];
        int checks = 1 + (dev->major >= 0) + (dev->minor >= 0);
        n = jne(p, n, 3, dev->type, checks);
        if (dev->major >= 0) n = jne(p, n, 4, dev->major, checks - 1);
        if (dev->minor >= 0) n = jne(p, n, 5, dev->minor, 1);
        to_allow[jumps++] = n;
        p[n++] = insn(BPF_JMP | BPF_JA, 0, 0, 0, 0);
    }
    p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0); /* deny */
    p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    int allow = n;
    p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
    p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (int j = 0; j < jumps; j++) p[to_allow[j]].off = (int16_t)(allow - to_allow[j] - 1);
    return n;
}

/* The v1 controller's form of the same list: deny all, then allow each (`*` for any number). */
static void allow_v1(int cgroup, const struct device *allowed, int count) {
    char rule[80];
    struct {
        const char *file, *text;
    } base[] = {{"devices.deny", "a"}, {"devices.allow", "c *:* m"}, {"devices.allow", "b *:* m"}};
    for (size_t b = 0; b < sizeof base / sizeof base[0]; b++) {
        int fd = openat(cgroup, base[b].file, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, base[b].text, strlen(base[b].text)) < 0) die("cannot write %s", base[b].file);
        close(fd);
    }
    for (int d = 0; d < count; d++) {
        char major[24] = "*", minor[24] = "*";
        if (allowed[d].major >= 0) snprintf(major, sizeof major, "%ld", allowed[d].major);
        if (allowed[d].minor >= 0) snprintf(minor, sizeof minor, "%ld", allowed[d].minor);
        snprintf(rule, sizeof rule, "%c %s:%s rwm", allowed[d].type == BPF_DEVCG_DEV_CHAR ? 'c' : 'b', major, minor);
        int fd = openat(cgroup, "devices.allow", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, rule, strlen(rule)) < 0) die("cannot allow %s", rule);
        close(fd);
    }
}

/* Whether this process is in the cgroup open as `cgroup` (its cgroup.procs lists pids as we see them). */
static int member(int cgroup) {
    char pids[4096], me[24];
    int fd = openat(cgroup, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, pids + 1, sizeof pids - 3);
    close(fd);
    if (n <= 0) return 0;
    pids[0] = '\n';
    pids[n + 1] = '\0';
    snprintf(me, sizeof me, "\n%d\n", (int)getpid());
    return strstr(pids, me) != NULL;
}

/* Joins the cgroup open as `fd` and puts the device filter on it. */
static void filter_devices(int cgroup) {
    struct device allowed[16];
    int count = 0;
    for (size_t i = 0; i < sizeof STANDARD / sizeof STANDARD[0]; i++) allowed[count++] = STANDARD[i];
    // The container's stdio may be devices (the VM's serial console, its virtio ports): reopening
    // them, as /dev/stdout or /dev/tty, must keep working.
    for (int fd = 0; fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
            allowed[count++] = (struct device){S_ISCHR(st.st_mode) ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK,
                                               (long)major(st.st_rdev), (long)minor(st.st_rdev)};
    }
    // Joined unless this process is in it already (ns mode: nsrun started the container there).
    // Each move waits for an RCU grace period in the kernel: one not needed is 10 ms saved.
    if (!member(cgroup)) {
        int procs = openat(cgroup, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0 || write(procs, "0", 1) != 1) die("cannot join the container's cgroup");
        close(procs);
    }
    if (faccessat(cgroup, "devices.allow", F_OK, 0) == 0) {
        allow_v1(cgroup, allowed, count);
        close(cgroup);
        return;
    }
    struct bpf_insn prog[128];
    int n = device_program(prog, allowed, count);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uint64_t)(uintptr_t) "MIT";
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd < 0) die("cannot load the device filter");
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup;
    attr.attach_bpf_fd = (uint32_t)fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) != 0) die("cannot attach the device filter");
    close(fd);
    close(cgroup);
}

/* ---- 2. seccomp ---- */

struct rule {
    int nr;
    int cap; /* the capability that lifts the refusal, or ALWAYS */
};

#define RULE(name, cap) {__NR_##name, cap},
/* What docker's default profile refuses, and the capability that lets it through there. */
static const struct rule RULES[] = {
#ifdef __NR_acct
    RULE(acct, CAP_SYS_PACCT)
#endif
#ifdef __NR_add_key
    RULE(add_key, ALWAYS)
#endif
#ifdef __NR_keyctl
    RULE(keyctl, ALWAYS)
#endif
#ifdef __NR_request_key
    RULE(request_key, ALWAYS)
#endif
#ifdef __NR_bpf
    RULE(bpf, CAP_SYS_ADMIN)
#endif
#ifdef __NR_perf_event_open
    RULE(perf_event_open, CAP_SYS_ADMIN)
#endif
#ifdef __NR_fanotify_init
    RULE(fanotify_init, CAP_SYS_ADMIN)
#endif
#ifdef __NR_lookup_dcookie
    RULE(lookup_dcookie, CAP_SYS_ADMIN)
#endif
#ifdef __NR_mount
    RULE(mount, CAP_SYS_ADMIN)
#endif
#ifdef __NR_mount_setattr
    RULE(mount_setattr, CAP_SYS_ADMIN)
#endif
#ifdef __NR_move_mount
    RULE(move_mount, CAP_SYS_ADMIN)
#endif
#ifdef __NR_open_tree
    RULE(open_tree, CAP_SYS_ADMIN)
#endif
#ifdef __NR_fsopen
    RULE(fsopen, CAP_SYS_ADMIN)
#endif
#ifdef __NR_fsconfig
    RULE(fsconfig, CAP_SYS_ADMIN)
#endif
#ifdef __NR_fsmount
    RULE(fsmount, CAP_SYS_ADMIN)
#endif
#ifdef __NR_fspick
    RULE(fspick, CAP_SYS_ADMIN)
#endif
#ifdef __NR_umount
    RULE(umount, CAP_SYS_ADMIN)
#endif
#ifdef __NR_umount2
    RULE(umount2, CAP_SYS_ADMIN)
#endif
#ifdef __NR_pivot_root
    RULE(pivot_root, CAP_SYS_ADMIN)
#endif
#ifdef __NR_unshare
    RULE(unshare, CAP_SYS_ADMIN)
#endif
#ifdef __NR_setns
    RULE(setns, CAP_SYS_ADMIN)
#endif
#ifdef __NR_swapon
    RULE(swapon, CAP_SYS_ADMIN)
#endif
#ifdef __NR_swapoff
    RULE(swapoff, CAP_SYS_ADMIN)
#endif
#ifdef __NR_quotactl
    RULE(quotactl, CAP_SYS_ADMIN)
#endif
#ifdef __NR_quotactl_fd
    RULE(quotactl_fd, CAP_SYS_ADMIN)
#endif
#ifdef __NR_init_module
    RULE(init_module, CAP_SYS_MODULE)
#endif
#ifdef __NR_finit_module
    RULE(finit_module, CAP_SYS_MODULE)
#endif
#ifdef __NR_delete_module
    RULE(delete_module, CAP_SYS_MODULE)
#endif
#ifdef __NR_create_module
    RULE(create_module, CAP_SYS_MODULE)
#endif
#ifdef __NR_query_module
    RULE(query_module, CAP_SYS_MODULE)
#endif
#ifdef __NR_get_kernel_syms
    RULE(get_kernel_syms, CAP_SYS_MODULE)
#endif
#ifdef __NR_kexec_load
    RULE(kexec_load, CAP_SYS_BOOT)
#endif
#ifdef __NR_kexec_file_load
    RULE(kexec_file_load, CAP_SYS_BOOT)
#endif
#ifdef __NR_reboot
    RULE(reboot, CAP_SYS_BOOT)
#endif
#ifdef __NR_settimeofday
    RULE(settimeofday, CAP_SYS_TIME)
#endif
#ifdef __NR_stime
    RULE(stime, CAP_SYS_TIME)
#endif
#ifdef __NR_clock_settime
    RULE(clock_settime, CAP_SYS_TIME)
#endif
#ifdef __NR_clock_settime64
    RULE(clock_settime64, CAP_SYS_TIME)
#endif
#ifdef __NR_clock_adjtime
    RULE(clock_adjtime, CAP_SYS_TIME)
#endif
#ifdef __NR_clock_adjtime64
    RULE(clock_adjtime64, CAP_SYS_TIME)
#endif
#ifdef __NR_iopl
    RULE(iopl, CAP_SYS_RAWIO)
#endif
#ifdef __NR_ioperm
    RULE(ioperm, CAP_SYS_RAWIO)
#endif
#ifdef __NR_kcmp
    RULE(kcmp, CAP_SYS_PTRACE)
#endif
#ifdef __NR_userfaultfd
    RULE(userfaultfd, CAP_SYS_PTRACE)
#endif
#ifdef __NR_open_by_handle_at
    RULE(open_by_handle_at, CAP_DAC_READ_SEARCH)
#endif
#ifdef __NR_syslog
    RULE(syslog, CAP_SYSLOG)
#endif
#ifdef __NR_vhangup
    RULE(vhangup, CAP_SYS_TTY_CONFIG)
#endif
#ifdef __NR_io_uring_setup
    RULE(io_uring_setup, ALWAYS)
#endif
#ifdef __NR_io_uring_enter
    RULE(io_uring_enter, ALWAYS)
#endif
#ifdef __NR_io_uring_register
    RULE(io_uring_register, ALWAYS)
#endif
#ifdef __NR_nfsservctl
    RULE(nfsservctl, ALWAYS)
#endif
#ifdef __NR__sysctl
    RULE(_sysctl, ALWAYS)
#endif
#ifdef __NR_sysfs
    RULE(sysfs, ALWAYS)
#endif
#ifdef __NR_uselib
    RULE(uselib, ALWAYS)
#endif
#ifdef __NR_ustat
    RULE(ustat, ALWAYS)
#endif
#ifdef __NR_vm86
    RULE(vm86, ALWAYS)
#endif
#ifdef __NR_vm86old
    RULE(vm86old, ALWAYS)
#endif
};

#define NAMESPACE_FLAGS                                                                                      \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static int keeps(uint64_t caps, int cap) { return cap != ALWAYS && (caps >> cap & 1) != 0; }

static void filter_syscalls(uint64_t caps) {
    struct sock_filter p[256];
    int n = 0;
#define STMT(code, k) p[n++] = (struct sock_filter)BPF_STMT(code, k)
#define JUMP(code, k, jt, jf) p[n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf)
    STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
    // x32 system calls carry this bit: another ABI, refused like i386's.
    JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
    for (size_t r = 0; r < sizeof RULES / sizeof RULES[0]; r++) {
        if (keeps(caps, RULES[r].cap)) continue;
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)RULES[r].nr, 0, 1);
        STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    if (!keeps(caps, CAP_SYS_ADMIN)) {
#ifdef __NR_clone3
        // clone3's flags are in memory, where the filter cannot look: ENOSYS makes libc use clone.
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
        STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
#endif
        // clone that makes namespaces: refused, as unshare is. (The flags are its first argument.)
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3);
        STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        JUMP(BPF_JMP | BPF_JSET | BPF_K, NAMESPACE_FLAGS, 0, 1);
        STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = p};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) die("cannot install the seccomp filter");
}

/* ---- 3. capabilities and ids ---- */

static void set_caps(uint64_t caps) {
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
        if (!(cap < 64 && (caps >> cap & 1)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            die("cannot drop capability %d from the bounding set", cap);
}

static void set_sets(uint64_t caps) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    // What this process holds bounds what it can keep (a host's root may lack some, as SYS_RESOURCE
    // here): --cap-add ALL is every capability there is to have.
    if (syscall(SYS_capget, &header, data) != 0) die("cannot read the capabilities");
    for (int half = 0; half < 2; half++) {
        uint32_t bits = getuid() == 0 ? (uint32_t)(caps >> (32 * half)) & data[half].permitted : 0;
        data[half].permitted = data[half].effective = bits;
        data[half].inheritable = 0;
    }
    if (syscall(SYS_capset, &header, data) != 0) die("cannot set the capabilities");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        die("cannot clear the ambient capabilities");
}

/* The supplementary groups of --groups G1:G2:...; *count is 0 without it. */
static gid_t *parse_groups(const char *spec, size_t *count) {
    *count = 0;
    if (spec == NULL) return NULL;
    size_t n = 1;
    for (const char *c = spec; *c != '\0'; c++) n += *c == ':';
    gid_t *groups = calloc(n, sizeof *groups);
    if (groups == NULL) die("out of memory");
    const char *at = spec;
    for (size_t i = 0; i < n; i++) {
        char *end;
        groups[i] = (gid_t)strtoul(at, &end, 10);
        if (end == at || (*end != ':' && *end != '\0')) die("--groups takes G1:G2:..., not %s", spec);
        at = end + 1;
    }
    *count = n;
    return groups;
}

/* Takes UID:GID, with the supplementary groups given (else GID alone). */
static void set_user(const char *spec, const gid_t *groups, size_t ngroups) {
    char *end;
    unsigned long uid = strtoul(spec, &end, 10), gid;
    if (*end != ':') die("--user takes UID:GID, not %s", spec);
    gid = strtoul(end + 1, &end, 10);
    gid_t primary[1] = {(gid_t)gid};
    if (setgroups(ngroups > 0 ? ngroups : 1, ngroups > 0 ? groups : primary) != 0 ||
        setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0)
        die("cannot take group %lu", gid);
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die("cannot take user %lu", uid);
}

/* ---- 3b. resource limits ---- */

static const struct {
    const char *name;
    int resource;
} RLIMITS[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},       {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static rlim_t limit_value(const char *text, const char *spec) {
    if (strcmp(text, "unlimited") == 0) return RLIM_INFINITY;
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || *end != '\0') die("--rlimit takes NAME:SOFT:HARD, not %s", spec);
    return (rlim_t)n;
}

/* --rlimit NAME:SOFT:HARD, each limit a number or "unlimited" (before the capabilities go). */
static void set_rlimit(const char *spec) {
    char copy[128], *soft, *hard;
    snprintf(copy, sizeof copy, "%s", spec);
    if ((soft = strchr(copy, ':')) == NULL || (hard = strchr(soft + 1, ':')) == NULL)
        die("--rlimit takes NAME:SOFT:HARD, not %s", spec);
    *soft++ = '\0';
    *hard++ = '\0';
    for (size_t i = 0; i < sizeof RLIMITS / sizeof RLIMITS[0]; i++) {
        if (strcmp(RLIMITS[i].name, copy) != 0) continue;
        struct rlimit r = {.rlim_cur = limit_value(soft, spec), .rlim_max = limit_value(hard, spec)};
        if (setrlimit(RLIMITS[i].resource, &r) != 0) die("cannot set the %s limit to %s:%s", copy, soft, hard);
        return;
    }
    die("unknown resource limit %s", copy);
}

/* ---- 4. the environment ---- */

/* The NUL-ended entries read from fd as an envp: the bytes as they are, nothing of this process's. */
static char **read_environment(int fd) {
    size_t size = 0, cap = 4096;
    char *buf = malloc(cap);
    if (buf == NULL) die("out of memory");
    for (;;) {
        if (size == cap && (buf = realloc(buf, cap *= 2)) == NULL) die("out of memory");
        ssize_t n = read(fd, buf + size, cap - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("cannot read the environment");
        if (n == 0) break;
        size += (size_t)n;
    }
    close(fd);
    if (size > 0 && buf[size - 1] != '\0') die("the environment file does not end with a NUL");
    size_t count = 0;
    for (size_t i = 0; i < size; i++) count += buf[i] == '\0';
    char **envp = calloc(count + 1, sizeof *envp);
    if (envp == NULL) die("out of memory");
    for (size_t i = 0, k = 0; i < size; i += strlen(buf + i) + 1) envp[k++] = buf + i;
    return envp;
}

/* confine --mount-root ROOT [--usedev] [--nopriv] [--console PATH]: returns once it is done. */
static int mount_root_main(int argc, char **argv) {
    int usedev = 0, nopriv = 0;
    const char *console = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--usedev") == 0) usedev = 1;
        else if (strcmp(argv[i], "--nopriv") == 0) nopriv = 1;
        else if (strcmp(argv[i], "--console") == 0 && i + 1 < argc) console = argv[++i];
        else {
            fprintf(stderr, "tsminc: confine: bad option %s\n", argv[i]);
            return LAUNCHER_FAILED;
        }
    }
    mount_root(argv[2], usedev, nopriv, console);
    return 0;
}

/* Runs the command: a path as it is, a bare name looked up in envp's PATH (the container's); 127 when
 * nothing is found, 126 when only something not runnable is, as shells and docker say. */
static void run(char **command, char **envp) {
    const char *name = command[0];
    if (strchr(name, '/') != NULL) {
        execve(name, command, envp);
        int err = errno;
        fprintf(stderr, "tsminc: %s: %s\n", name, strerror(err));
        exit(err == ENOENT ? 127 : 126);
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = envp; *e != NULL; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    int denied = 0;
    char file[4096];
    for (const char *dir = path;; dir++) {
        const char *end = strchrnul(dir, ':');
        int len = (int)(end - dir);
        snprintf(file, sizeof file, "%.*s%s%s", len, dir, len > 0 ? "/" : "", name);
        execve(file, command, envp);
        if (errno == EACCES) denied = 1;
        if (*end == '\0') break;
        dir = end;
    }
    fprintf(stderr, "tsminc: %s: %s\n", name, denied ? "permission denied" : "command not found");
    exit(denied ? 126 : 127);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--mount-root") == 0) return mount_root_main(argc, argv);
    if (argc == 4 && strcmp(argv[1], "--remount") == 0) return remount_main(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "--wake") == 0) return wake_main(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "--guard") == 0) return guard_main(argv[2]);
    uint64_t caps = 0;
    int have_caps = 0, seccomp = 0, nnp = 0, cgroup = -1, mask = 0, read_only = 0, env_fd = -1;
    const char *user = NULL, *groups_spec = NULL, *cwd = NULL;
    const char **rlimits = calloc((size_t)argc, sizeof *rlimits);
    size_t nrlimits = 0;
    if (rlimits == NULL) die("out of memory");
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--caps") == 0 && has_value) {
            caps = strtoull(argv[++i], NULL, 16);
            have_caps = 1;
        } else if (strcmp(argv[i], "--user") == 0 && has_value) {
            user = argv[++i];
        } else if (strcmp(argv[i], "--groups") == 0 && has_value) {
            groups_spec = argv[++i];
        } else if (strcmp(argv[i], "--rlimit") == 0 && has_value) {
            rlimits[nrlimits++] = argv[++i];
        } else if (strcmp(argv[i], "--mask") == 0) {
            mask = 1;
        } else if (strcmp(argv[i], "--read-only") == 0) {
            read_only = 1;
        } else if (strcmp(argv[i], "--seccomp") == 0) {
            seccomp = 1;
        } else if (strcmp(argv[i], "--no-new-privs") == 0) {
            nnp = 1;
        } else if (strcmp(argv[i], "--devices-cgroup-fd") == 0 && has_value) {
            cgroup = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--env-fd") == 0 && has_value) {
            env_fd = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--cwd") == 0 && has_value) {
            cwd = argv[++i];
        } else {
            fprintf(stderr, "tsminc: confine: bad option %s\n", argv[i]);
            return LAUNCHER_FAILED;
        }
    }
    if (i + 1 >= argc) {
        fputs("tsminc: usage: confine [--mask] [--read-only] [--caps HEX] [--user UID:GID] [--groups G1:G2:...] "
              "[--rlimit NAME:SOFT:HARD]... [--seccomp] [--cwd DIR] "
              "[--no-new-privs] [--devices-cgroup-fd N] [--env-fd N] -- PATH [ARG]...\n",
              stderr);
        return LAUNCHER_FAILED;
    }
    char **command = argv + i + 1;
    char **envp = env_fd >= 0 ? read_environment(env_fd) : environ;
    if (!have_caps) caps = ~(uint64_t)0;
    if (mask) mask_paths();
    if (read_only) remount_read_only("/");
    for (size_t r = 0; r < nrlimits; r++) set_rlimit(rlimits[r]);
    size_t ngroups;
    gid_t *groups = parse_groups(groups_spec, &ngroups);
    if (cgroup >= 0) filter_devices(cgroup);
    if (seccomp) filter_syscalls(caps);
    if (have_caps) set_caps(caps);
    if (user != NULL) set_user(user, groups, ngroups);
    else if (ngroups > 0 && setgroups(ngroups, groups) != 0) die("cannot take the groups %s", groups_spec);
    if (have_caps || user != NULL) set_sets(caps);
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("cannot set no_new_privs");
    // Only stdin, stdout and stderr reach the command (this program came in as a descriptor too).
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0)
        for (int fd = 3; fd < 1024; fd++) close(fd);
    if (cwd != NULL && chdir(cwd) != 0) die("cannot enter the working folder %s", cwd);
    run(command, envp);
}
