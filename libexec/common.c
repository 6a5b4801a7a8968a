/* common.c: what tsminc's static helpers (nsrun, confine) share: their one-line failure. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void die(const char *fmt, ...) {
    int saved = errno;
    va_list ap;
    fputs("tsminc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", strerror(saved));
    exit(LAUNCHER_FAILED);
}
