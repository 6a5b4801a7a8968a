/* wake.c: the guest's wake-up after a snapshot restore (confine --wake): a restored ermine has the
 * wall clock and the CRNG state of the moment it was saved, the same in every run. The host sends its
 * time and fresh randomness with the release; this sets the clock, credits the randomness to the
 * input pool (RNDADDENTROPY) and makes the CRNG reseed from it at once (RNDRESEEDCRNG), so two runs
 * restored from one snapshot never draw the same random numbers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "wake.h"

enum { SEED_MAX = 64 };

static long number(const char *text, const char *what) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0) {
        errno = EINVAL;
        die("--wake: bad %s '%s'", what, text);
    }
    return value;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int wake_main(const char *seconds, const char *nanoseconds, const char *seed_hex) {
    struct timespec now = {.tv_sec = number(seconds, "seconds"), .tv_nsec = number(nanoseconds, "nanoseconds")};
    if (now.tv_nsec >= 1000000000L) {
        errno = EINVAL;
        die("--wake: bad nanoseconds '%s'", nanoseconds);
    }
    if (clock_settime(CLOCK_REALTIME, &now) != 0) die("--wake: setting the clock");

    size_t len = strlen(seed_hex) / 2;
    if (len == 0 || len > SEED_MAX || strlen(seed_hex) % 2 != 0) {
        errno = EINVAL;
        die("--wake: the seed must be 2 to %d hex digits", 2 * SEED_MAX);
    }
    /* struct rand_pool_info ends in a flexible array: the seed is decoded straight into it. */
    union {
        struct rand_pool_info info;
        unsigned char room[sizeof(struct rand_pool_info) + SEED_MAX];
    } seed;
    unsigned char *bytes = (unsigned char *)seed.info.buf;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(seed_hex[2 * i]), lo = hex_digit(seed_hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            errno = EINVAL;
            die("--wake: the seed is not hex");
        }
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    seed.info.entropy_count = (int)(8 * len);
    seed.info.buf_size = (int)len;
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("--wake: opening /dev/urandom");
    if (ioctl(fd, RNDADDENTROPY, &seed.info) != 0) die("--wake: RNDADDENTROPY");
    if (ioctl(fd, RNDRESEEDCRNG) != 0) die("--wake: RNDRESEEDCRNG");
    close(fd);
    return 0;
}
