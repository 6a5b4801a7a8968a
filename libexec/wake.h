/* wake.h: confine --wake, the guest's wake-up after a snapshot restore: the clock and the CRNG. */
#ifndef TSMINC_WAKE_H
#define TSMINC_WAKE_H

/* confine --wake SECONDS NANOSECONDS SEEDHEX: sets the wall clock, mixes the seed in, reseeds. */
int wake_main(const char *seconds, const char *nanoseconds, const char *seed_hex);

#endif
