/* common.h: what tsminc's static helpers (nsrun, confine) share: their one-line failure. */
#ifndef TSMINC_COMMON_H
#define TSMINC_COMMON_H

/* tsminc's status for a failure of its own. */
enum { LAUNCHER_FAILED = 125 };

/* Prints "tsminc: MESSAGE: strerror(errno)" and exits LAUNCHER_FAILED. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

#endif
