/* guard.h: confine --guard, the guest's thrash guard on the job's memory cgroup. */
#ifndef TSMINC_GUARD_H
#define TSMINC_GUARD_H

/* confine --guard CGROUP: kills the job's biggest process whenever the whole job stalls on memory. */
int guard_main(const char *cgroup);

#endif
