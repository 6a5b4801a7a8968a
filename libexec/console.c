/*
 * console.c: nsrun --console-socket, for an OCI runtime's process.terminal. Makes a new pseudo-
 * terminal, sends its master to the engine over the unix socket PATH (SCM_RIGHTS, the name of the
 * terminal as the message, as runc does: conmon and containerd's shim keep the master and resize
 * it), then makes the terminal this process's controlling terminal and stdio, and becomes COMMAND
 * (tsminc-runtime's monitor). Resizes reach COMMAND as SIGWINCH, as on any terminal.
 *
 * nsrun --console-socket PATH [--console-size ROWS COLS] -- COMMAND [ARG]...
 */
#define _GNU_SOURCE
#include "console.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static void send_master(const char *path, int master, const char *name) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        die("console socket %s", path);
    }
    strcpy(addr.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) die("cannot make a socket");
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) die("cannot connect to the console socket %s", path);
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) die("cannot send the terminal over %s", path);
    close(sock);
}

void console_main(int argc, char **argv) {
    const char *path = NULL;
    struct winsize size = {0};
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--console-socket") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--console-size") == 0 && i + 2 < argc) {
            size.ws_row = (unsigned short)strtoul(argv[++i], NULL, 10);
            size.ws_col = (unsigned short)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "tsminc: nsrun: bad console option %s\n", argv[i]);
            exit(LAUNCHER_FAILED);
        }
    }
    if (path == NULL || i + 1 >= argc) {
        fputs("tsminc: usage: nsrun --console-socket PATH [--console-size ROWS COLS] -- COMMAND [ARG]...\n", stderr);
        exit(LAUNCHER_FAILED);
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) die("cannot make a pseudo-terminal");
    char name[64];
    if (ptsname_r(master, name, sizeof name) != 0) die("cannot name the pseudo-terminal");
    if (size.ws_row > 0 && size.ws_col > 0 && ioctl(master, TIOCSWINSZ, &size) != 0) die("cannot size the terminal");
    send_master(path, master, name);
    close(master);
    // A session of its own (already one when started detached), whose controlling terminal this is.
    if (setsid() < 0 && getsid(0) != getpid()) die("cannot start a session");
    int slave = open(name, O_RDWR);
    if (slave < 0) die("cannot open %s", name);
    if (ioctl(slave, TIOCSCTTY, 0) != 0) die("cannot take %s as the controlling terminal", name);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) die("cannot make %s the standard streams", name);
    if (slave > 2) close(slave);
    execvp(argv[i + 1], argv + i + 1);
    die("cannot run %s", argv[i + 1]);
}
