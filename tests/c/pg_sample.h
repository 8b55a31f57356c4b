/* Deterministic example profiles for the format tests, the fuzz seeds and
 * the C/Python cross-check: each variant exercises different parts of the
 * file format.
 *
 *   0  empty: the root only, no functions, no metadata;
 *   1  small: Python and builtin functions, recursion, exception exits,
 *      metadata, histograms from 0 to UINT64_MAX, an empty histogram;
 *   2  wide: a few hundred nodes and functions from a fixed random walk;
 *   3  metrics: the small profile plus per-node metrics (RMET), a SUM and
 *      a MAX one, with values on the root and up to UINT64_MAX, and line
 *      heat (LINE);
 *   4  timeline: the small one plus a resource timeline (TLIN) with two
 *      GPUs (TGPU), downsampled once.
 */
#ifndef PG_SAMPLE_H
#define PG_SAMPLE_H

#include "pg_profile.h"

#define PG_SAMPLE_VARIANTS 5

/* Fill profile (freshly initialised by the caller) with variant. Returns
 * PG_OK or a negative pg_error_t. */
int pg_sample_build(pg_profile_t *profile, unsigned variant);

#endif
