/* Log-linear latency histogram.
 *
 * Values are unsigned 64-bit integers in any unit (the tracer records clock
 * ticks and stores the tick length beside the histogram). Values below 128
 * have a bucket each; above, every power of two is split into 128 equal
 * buckets, so a bucket's width is at most 1/128 (0.78%) of its lower bound and
 * a quantile read at the bucket's midpoint is within 0.4% of the true value.
 *
 * Invariants: count == sum of all bucket counts; min <= max when count > 0.
 * Bucket rows of 128 counters are allocated on first use, so a histogram costs
 * memory only for the octaves its values fall in (a few hundred bytes each).
 */
#ifndef PG_HIST_H
#define PG_HIST_H

#include <stdint.h>

#define PG_HIST_SUB_BITS 7
#define PG_HIST_SUB (1u << PG_HIST_SUB_BITS)       /* buckets per row */
#define PG_HIST_ROWS (64 - PG_HIST_SUB_BITS + 1)    /* 58 rows cover u64 */
#define PG_HIST_BUCKETS (PG_HIST_ROWS * PG_HIST_SUB) /* 7424 bucket indices */

typedef struct pg_hist {
    uint64_t count;                /* values recorded */
    uint64_t sum;                  /* sum of values (wraps after 2^64) */
    uint64_t min;                  /* smallest value; UINT64_MAX when empty */
    uint64_t max;                  /* largest value; 0 when empty */
    uint64_t *rows[PG_HIST_ROWS];  /* owned; NULL until a value lands there */
} pg_hist_t;

void pg_hist_init(pg_hist_t *hist);
void pg_hist_release(pg_hist_t *hist);

/* Bucket index of value, in [0, PG_HIST_BUCKETS). */
static inline uint32_t pg_hist_bucket(uint64_t value)
{
    if (value < PG_HIST_SUB)
        return (uint32_t)value;
    uint32_t exponent = 63u - (uint32_t)__builtin_clzll(value);
    uint32_t shift = exponent - PG_HIST_SUB_BITS;
    uint32_t sub = (uint32_t)(value >> shift) & (PG_HIST_SUB - 1);
    return (shift + 1) * PG_HIST_SUB + sub;
}

/* Lowest value that falls in bucket, and the bucket's width. */
uint64_t pg_hist_bucket_low(uint32_t bucket);
uint64_t pg_hist_bucket_width(uint32_t bucket);

/* Record one value. Returns PG_ERR_NOMEM (-1) when a new row cannot be
 * allocated; count/min/max/sum are still updated so totals stay exact.
 * Inline: the tracer calls it on every function exit. */
int pg_hist_add_new_row(pg_hist_t *hist, uint64_t value);

static inline int pg_hist_add(pg_hist_t *hist, uint64_t value)
{
    uint32_t bucket = pg_hist_bucket(value);
    uint64_t *row = hist->rows[bucket >> PG_HIST_SUB_BITS];
    if (__builtin_expect(!row, 0))
        return pg_hist_add_new_row(hist, value);
    hist->count++;
    hist->sum += value;
    if (value < hist->min)
        hist->min = value;
    if (value > hist->max)
        hist->max = value;
    row[bucket & (PG_HIST_SUB - 1)]++;
    return 0;
}

/* Add count observations to one bucket (the file reader and merges use it). */
int pg_hist_add_bucket(pg_hist_t *hist, uint32_t bucket, uint64_t count);

/* Bucket counter, 0 when its row is absent. */
uint64_t pg_hist_bucket_count(const pg_hist_t *hist, uint32_t bucket);

/* Value at quantile q in [0, 1]: the midpoint of the bucket holding the
 * ceil(q * count)-th smallest value, clamped to [min, max]. 0 when empty. */
double pg_hist_quantile(const pg_hist_t *hist, double q);

/* Add every observation of src into dst. */
int pg_hist_merge(pg_hist_t *dst, const pg_hist_t *src);

/* Bytes of heap the histogram owns. */
uint64_t pg_hist_memory(const pg_hist_t *hist);

#endif
