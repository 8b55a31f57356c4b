/* Test and fuzz support: recompute the CRC-32 of every complete section of
 * a profile file image in place, so a mutation reaches the checks behind the
 * checksum instead of stopping at it. No test-harness dependencies, so the
 * fuzz target links it too. */
#ifndef PG_CHECKSUMS_H
#define PG_CHECKSUMS_H

#include <stddef.h>
#include <stdint.h>

void pg_checksums_fix(uint8_t *data, size_t size);

#endif
