/* Statistics for comparing runs: a rank test computed directly on latency
 * histograms, bootstrap intervals of a ratio of means, and the
 * Benjamini-Hochberg false-discovery-rate adjustment.
 *
 * A "sample" is a sparse latency histogram in nanosecond buckets: the
 * buckets of pg_hist (pg_hist_bucket of a duration in ns), so histograms
 * from runs with different clock units (TSC rates) share one bucket grid
 * and can be pooled and compared. Two calls in the same bucket are
 * indistinguishable to within 0.8% and count as a tie.
 *
 * Invariants of pg_stats_sample_t: buckets strictly increasing, every
 * count > 0, total == sum of counts.
 *
 * The encoded form (what the history store keeps) is a uv entry count, then
 * per entry a uv bucket (the first absolute, each next one as the positive
 * difference from the previous) and a uv count > 0 (uv: LEB128 as in the
 * profile file, pg_bytes.h). Decoding rejects any other form.
 *
 * Pure functions of their inputs; no global state, not thread-aware.
 */
#ifndef PG_STATS_H
#define PG_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pg_hist.h"

typedef struct pg_stats_sample {
    uint32_t *buckets; /* owned; count entries, strictly increasing */
    uint64_t *counts;  /* owned; count entries, each > 0 */
    uint32_t count;    /* non-empty buckets */
    uint32_t capacity; /* entries allocated */
    uint64_t total;    /* observations: sum of counts */
} pg_stats_sample_t;

void pg_stats_sample_init(pg_stats_sample_t *sample);
void pg_stats_sample_release(pg_stats_sample_t *sample);

/* Add count observations of a duration of value_ns nanoseconds. */
int pg_stats_sample_add(pg_stats_sample_t *sample, double value_ns, uint64_t count);

/* Replace *sample (initialised) by hist re-bucketed in ns: each source
 * bucket's midpoint times ns_per_unit times scale (the overhead
 * correction; 1.0 for raw times). */
int pg_stats_sample_from_hist(pg_stats_sample_t *sample, const pg_hist_t *hist,
                              double ns_per_unit, double scale);

/* Add every observation of src to dst (pooling repeats of one program). */
int pg_stats_sample_merge(pg_stats_sample_t *dst, const pg_stats_sample_t *src);
/* The same with every observation times scale (its bucket midpoint, so to
 * within a bucket; exact for 1.0): a run's calls with its speed divided
 * out. PG_ERR_ARG unless 0 < scale <= 1e6. */
int pg_stats_sample_merge_scaled(pg_stats_sample_t *dst, const pg_stats_sample_t *src, double scale);

/* Encode into a new malloc'ed buffer the caller frees. */
int pg_stats_sample_encode(const pg_stats_sample_t *sample, uint8_t **data, size_t *size);
/* Decode and add to *sample (initialised); PG_ERR_CORRUPT on a malformed
 * or non-canonical blob, leaving *sample with what was valid before. */
int pg_stats_sample_decode(pg_stats_sample_t *sample, const uint8_t *data, size_t size);

/* Value (ns, bucket midpoint) at quantile q in [0, 1]; 0 when empty. */
double pg_stats_sample_quantile(const pg_stats_sample_t *sample, double q);

/* Result of the Mann-Whitney U test of a (base) against b (current). */
typedef struct pg_rank_test {
    uint64_t n_a;       /* observations in a */
    uint64_t n_b;       /* observations in b */
    double u_b;         /* U of b: pairs (x in a, y in b) with y > x, ties 1/2 */
    double z;           /* normal approximation, continuity- and tie-corrected;
                           > 0 when b tends to be larger */
    double p_value;     /* two-sided; 1 when either side is empty or all tie */
    double effect;      /* u_b / (n_a n_b): P(b > a) + P(tie) / 2, 0.5 = none */
} pg_rank_test_t;

/* Mann-Whitney U with mid-ranks for ties (equal buckets) and the normal
 * approximation. Always succeeds (no allocation). */
void pg_stats_rank_test(const pg_stats_sample_t *a, const pg_stats_sample_t *b,
                        pg_rank_test_t *out);

/* Upper tail of the standard normal distribution, P(Z > z). */
double pg_stats_normal_sf(double z);

/* A point estimate with a two-sided confidence interval. */
typedef struct pg_interval {
    double estimate; /* the ratio on the observed values */
    double low;      /* lower bound */
    double high;     /* upper bound */
} pg_interval_t;

/* The statistic of each side a bootstrap compares. */
typedef enum pg_stats_center {
    PG_STATS_MEAN = 0,   /* totals: every run counts in proportion */
    PG_STATS_MEDIAN = 1, /* robust: one disturbed run does not move it */
} pg_stats_center_t;

/* Percentile bootstrap interval of center(b) / center(a): resample each
 * side with replacement `resamples` times (PRNG seeded with seed, so the
 * result is reproducible); estimate is the ratio on the observed values.
 * PG_ERR_ARG when a side is empty, center(a) is not > 0, resamples is 0 or
 * confidence is not in (0, 1); PG_ERR_NOMEM. */
int pg_stats_bootstrap_ratio(const double *a, size_t n_a, const double *b, size_t n_b,
                             pg_stats_center_t center, uint32_t resamples, double confidence,
                             uint64_t seed, pg_interval_t *out);

/* Benjamini-Hochberg adjusted p-values (q-values) of p[0..n) into q[0..n)
 * (q may alias p). A hypothesis is a discovery at FDR level alpha when its
 * q <= alpha. PG_ERR_NOMEM, or PG_ERR_ARG for a p outside [0, 1] or NaN. */
int pg_stats_bh_adjust(const double *p, size_t n, double *q);

#endif
