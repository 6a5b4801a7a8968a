/*
 * slirp.c: --network user for nsrun's namespaces. slirp4netns must stay in the host's network
 * namespace, so nsrun forks it before making its own; it is released once they exist, waited for
 * until it has configured the container's namespace, and handed the published ports through its
 * API socket. In vm mode, qemu's NIC is a tap bridged with slirp4netns's tap0 in that namespace, so
 * the VM gets the same NAT, and the host's loopback is refused by slirp4netns itself
 * (--disable-host-loopback), where replies to published ports are not touched. slirp4netns ends
 * when nsrun (or the qemu it became) does: its --exit-fd is a pipe whose write end only we hold.
 */
#define _GNU_SOURCE
#include "slirp.h"

#include "common.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG "slirp.log"

void slirp_fork(struct slirp *s, int user) {
    int release[2], ready[2], quit[2];
    if (pipe2(release, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0 || pipe2(quit, O_CLOEXEC) != 0)
        die("cannot make pipes for slirp4netns");
    pid_t ours = getpid();
    pid_t pid = fork();
    if (pid < 0) die("cannot start slirp4netns");
    if (pid == 0) {
        close(release[1]);
        close(ready[0]);
        close(quit[1]);
        char byte;
        // nsrun gone before its namespaces existed: nothing to attach to.
        if (read(release[0], &byte, 1) != 1) _exit(LAUNCHER_FAILED);
        // The two ends slirp4netns uses survive its exec; its chatter goes to the tmpdir's log.
        fcntl(ready[1], F_SETFD, 0);
        fcntl(quit[0], F_SETFD, 0);
        char path[4200];
        snprintf(path, sizeof path, "%s/" LOG, s->tmpdir);
        int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        const char **argv = calloc((size_t)s->noptions + 8, sizeof *argv);
        char ready_fd[32], exit_fd[32], api[4200], userns[64], target[32];
        int n = 0;
        argv[n++] = "slirp4netns";
        for (int i = 0; i < s->noptions; i++) argv[n++] = s->options[i];
        snprintf(ready_fd, sizeof ready_fd, "--ready-fd=%d", ready[1]);
        snprintf(exit_fd, sizeof exit_fd, "--exit-fd=%d", quit[0]);
        snprintf(api, sizeof api, "--api-socket=%s", s->socket);
        argv[n++] = ready_fd;
        argv[n++] = exit_fd;
        argv[n++] = api;
        if (user) {
            snprintf(userns, sizeof userns, "--userns-path=/proc/%d/ns/user", (int)ours);
            argv[n++] = userns;
        }
        snprintf(target, sizeof target, "%d", (int)ours);
        argv[n++] = target;
        argv[n++] = "tap0";
        execvp(argv[0], (char **)argv);
        die("cannot run slirp4netns (apt-get install slirp4netns)");
    }
    close(release[0]);
    close(ready[1]);
    close(quit[0]);
    // Not closed on exec: in vm mode qemu, which nsrun becomes, holds it for the run's life.
    fcntl(quit[1], F_SETFD, 0);
    s->pid = pid;
    s->release = release[1];
    s->ready = ready[0];
}

void slirp_release(struct slirp *s) {
    if (write(s->release, "r", 1) != 1) die("cannot release slirp4netns");
    close(s->release);
}

/* slirp4netns's first error, from its log in the tmpdir: the line before "child failed", say. */
static const char *first_error(const char *tmpdir) {
    static char text[4096];
    char path[4200];
    snprintf(path, sizeof path, "%s/" LOG, tmpdir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0) close(fd);
    if (n <= 0) return "it said nothing";
    text[n] = '\0';
    // Its chatter ("sent tapfd=..."), then the error: the first line that names a call failing.
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
        if (strstr(line, "): ") != NULL || strstr(line, "rror") != NULL || strstr(line, "failed") != NULL) return line;
    return "it said nothing";
}

/* One request on the API socket; dies with slirp4netns's error description. */
static void api_request(const char *path, const char *request) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("cannot reach slirp4netns's API");
    size_t len = strlen(request);
    if (write(fd, request, len) != (ssize_t)len) die("cannot talk to slirp4netns");
    shutdown(fd, SHUT_WR);
    char reply[4096];
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof reply - 1 && (n = read(fd, reply + got, sizeof reply - 1 - (size_t)got)) > 0) got += n;
    close(fd);
    reply[got < 0 ? 0 : got] = '\0';
    const char *error = strstr(reply, "\"desc\":\"");
    if (strstr(reply, "\"error\"") != NULL) {
        fprintf(stderr, "tsminc: cannot publish a port (%s): %.*s\n", request,
                error != NULL ? (int)strcspn(error + 8, "\"") : 0, error != NULL ? error + 8 : "");
        exit(LAUNCHER_FAILED);
    }
}

void slirp_ready(struct slirp *s) {
    char byte;
    if (read(s->ready, &byte, 1) != 1) {
        fprintf(stderr, "tsminc: slirp4netns could not give the container its network: %s\n", first_error(s->tmpdir));
        fputs("tsminc: hint: --network user as a user needs /dev/net/tun open to users (Debian's udev makes it 0666)"
              ", or use --network none\n",
              stderr);
        exit(LAUNCHER_FAILED);
    }
    close(s->ready);
    for (int i = 0; i < s->nrequests; i++) api_request(s->socket, s->requests[i]);
}

static void set_up(int sock, const char *name) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) die("cannot look at %s", name);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) die("cannot bring %s up", name);
}

static void enslave(int sock, const char *name) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "br0");
    ifr.ifr_ifindex = (int)if_nametoindex(name);
    if (ifr.ifr_ifindex == 0 || ioctl(sock, SIOCBRADDIF, &ifr) != 0) die("cannot bridge %s", name);
}

/* The guest takes over `name`'s identity: its IPv4 address goes (an address 0.0.0.0, as ifconfig
 * does), and its MAC address, which the engine's network knows the container by and which the guest's
 * NIC now has, changes to one derived from it (the last byte inverted). */
static void hand_over(int sock, const char *name) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    if (ioctl(sock, SIOCSIFADDR, &ifr) != 0) die("cannot take the address of %s", name);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(sock, SIOCGIFHWADDR, &ifr) != 0) die("cannot read the MAC address of %s", name);
    ifr.ifr_hwaddr.sa_data[5] = (char)~ifr.ifr_hwaddr.sa_data[5];
    if (ioctl(sock, SIOCSIFHWADDR, &ifr) != 0) die("cannot change the MAC address of %s", name);
}

/* No learning on the bridge port `port`: the engine's bridge may send the guest's own frames back
 * (podman's CNI bridge runs in hairpin mode), which would teach br0 that the guest is out there.
 * Through a sysfs of this network namespace, mounted in `scratch` (this process's mounts are its own). */
static void stop_learning(const char *scratch, const char *port) {
    char dir[4200], file[4400];
    snprintf(dir, sizeof dir, "%s/netns-sys", scratch);
    if (mkdir(dir, 0700) != 0 || mount("sysfs", dir, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        die("cannot look at the network namespace's interfaces");
    snprintf(file, sizeof file, "%s/class/net/%s/brport/learning", dir, port);
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) die("cannot turn learning off on %s", port);
    close(fd);
    if (umount2(dir, MNT_DETACH) != 0 || rmdir(dir) != 0) die("cannot let go of %s", dir);
}

void bridge_tap(const char *name, const char *uplink, const char *scratch) {
    int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    // Persistent: it outlives this descriptor, for qemu to open by name; it goes with the namespace.
    if (tun < 0 || ioctl(tun, TUNSETIFF, &ifr) != 0 || ioctl(tun, TUNSETPERSIST, 1) != 0) die("cannot make the tap %s", name);
    close(tun);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || ioctl(sock, SIOCBRADDBR, "br0") != 0) die("cannot make a bridge for the VM's NIC");
    const char *port = uplink != NULL ? uplink : "tap0";
    if (uplink != NULL) hand_over(sock, uplink);
    enslave(sock, port);
    enslave(sock, name);
    if (uplink != NULL) stop_learning(scratch, uplink);
    set_up(sock, port);
    set_up(sock, name);
    set_up(sock, "br0");
    close(sock);
}
