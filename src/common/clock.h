/* The one monotonic clock of tcet: candidate and phase timings, latency
 * measurements, progress and checkpoint intervals all read it. */
#ifndef TCET_CLOCK_H
#define TCET_CLOCK_H

/* Monotonic seconds (CLOCK_MONOTONIC). */
double tcet_now(void);

#endif
