/* Merging profiles: the profiles of the processes of one run (a parent and
 * its workers) added into one.
 *
 * pg_profile_merge adds src into dst, one step per kind of data:
 * - functions by identity (name, file, line, kind), with their latency
 *   histograms added bucket-wise;
 * - call-tree nodes by call path (the same sequence of functions from the
 *   root), their counters and times added;
 * - run statistics: event, thread and loss counters add up; the run's start
 *   becomes the earlier one and its end the later one;
 * - pipeline stages (STGS/SSPN) by name, their counters added and latency
 *   histograms merged; src's spans appended on the merged run's time line
 *   (shifted by the difference of the two runs' starts);
 * - the process table (PRCS): src's entries are appended;
 * - per-node metrics (RMET) by name, each value combined into the node of
 *   the same call path by the metric's merge rule (sum or max); metrics in
 *   time units are converted like times;
 * - line heat (LINE) by (function, line), functions remapped, self and
 *   total converted like times, hits added.
 * Metadata stays dst's. Times are converted from src's unit to dst's when
 * their ns_per_unit differ (each process calibrates its own clock); a
 * histogram bucket then moves to the bucket holding its scaled midpoint.
 *
 * A new optional section gets its own merge step here (see merge_steps in
 * pg_merge.c).
 *
 * On error dst may hold part of src (the counters of some nodes); the caller
 * discards it. src is not modified.
 */
#ifndef PG_MERGE_H
#define PG_MERGE_H

#include "pg_profile.h"

/* Add src into dst. Returns 0, PG_ERR_NOMEM, PG_ERR_LIMIT, or PG_ERR_ARG
 * when dst and src are the same profile. */
int pg_profile_merge(pg_profile_t *dst, const pg_profile_t *src);

#endif
