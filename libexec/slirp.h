/* slirp.h: --network user for nsrun's namespaces (slirp.c). */
#ifndef TSMINC_SLIRP_H
#define TSMINC_SLIRP_H

#include <sys/types.h>

struct slirp {
    /* the run's tmpdir (slirp4netns's log goes there), its options from tsminc (--slirp), the API
     * socket, the ports' requests */
    const char *tmpdir;
    const char **options;
    int noptions;
    const char *socket;
    const char **requests;
    int nrequests;
    /* set by slirp_fork */
    pid_t pid;
    int release; /* write end: a byte lets it start on our namespaces */
    int ready;   /* read end: slirp4netns's --ready-fd */
};

/* Forks, before the namespaces exist, the process that will become slirp4netns (it must stay in
 * the host's network namespace). It waits for slirp_release. */
void slirp_fork(struct slirp *s, int user);

/* Our namespaces exist: slirp4netns may attach to them. */
void slirp_release(struct slirp *s);

/* Waits until slirp4netns has configured the namespace, then publishes the ports. */
void slirp_ready(struct slirp *s);

/* vm mode: makes the persistent tap `name` and a bridge with slirp4netns's tap0, for qemu; or with
 * `uplink`, when not NULL, whose IPv4 and MAC addresses the guest takes over (`scratch`: a folder of
 * the run's for a moment's mount). */
void bridge_tap(const char *name, const char *uplink, const char *scratch);

#endif
