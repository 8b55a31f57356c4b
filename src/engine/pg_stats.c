#include "pg_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pg_bytes.h"
#include "pg_error.h"

void pg_stats_sample_init(pg_stats_sample_t *sample)
{
    memset(sample, 0, sizeof *sample);
}

void pg_stats_sample_release(pg_stats_sample_t *sample)
{
    free(sample->buckets);
    free(sample->counts);
    pg_stats_sample_init(sample);
}

/* Make room for one more entry in both parallel arrays. */
static int sample_reserve(pg_stats_sample_t *sample)
{
    if (sample->count < sample->capacity)
        return PG_OK;
    if (sample->capacity >= PG_HIST_BUCKETS) /* cannot happen: buckets are unique */
        return PG_ERR_LIMIT;
    uint32_t capacity = sample->capacity ? sample->capacity * 2 : 16;
    if (capacity > PG_HIST_BUCKETS)
        capacity = PG_HIST_BUCKETS;
    uint32_t *buckets = realloc(sample->buckets, capacity * sizeof *buckets);
    if (!buckets)
        return PG_ERR_NOMEM;
    sample->buckets = buckets;
    uint64_t *counts = realloc(sample->counts, capacity * sizeof *counts);
    if (!counts)
        return PG_ERR_NOMEM;
    sample->counts = counts;
    sample->capacity = capacity;
    return PG_OK;
}

/* Add count to bucket, keeping buckets sorted. Appending (the common case:
 * histograms are walked in increasing order) costs no search. */
static int sample_add_bucket(pg_stats_sample_t *sample, uint32_t bucket, uint64_t count)
{
    if (count == 0)
        return PG_OK;
    if (bucket >= PG_HIST_BUCKETS)
        return PG_ERR_ARG;
    uint32_t lo = 0, hi = sample->count;
    if (hi > 0 && sample->buckets[hi - 1] < bucket) {
        lo = hi;
    } else {
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (sample->buckets[mid] < bucket)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < sample->count && sample->buckets[lo] == bucket) {
            sample->counts[lo] += count;
            sample->total += count;
            return PG_OK;
        }
    }
    int rc = sample_reserve(sample);
    if (rc < 0)
        return rc;
    uint32_t tail = sample->count - lo;
    memmove(sample->buckets + lo + 1, sample->buckets + lo, tail * sizeof *sample->buckets);
    memmove(sample->counts + lo + 1, sample->counts + lo, tail * sizeof *sample->counts);
    sample->buckets[lo] = bucket;
    sample->counts[lo] = count;
    sample->count++;
    sample->total += count;
    return PG_OK;
}

int pg_stats_sample_add(pg_stats_sample_t *sample, double value_ns, uint64_t count)
{
    uint64_t value;
    if (!(value_ns > 0.0)) /* also NaN */
        value = 0;
    else if (value_ns >= 18446744073709549568.0) /* largest double below 2^64 */
        value = UINT64_MAX;
    else
        value = (uint64_t)(value_ns + 0.5);
    return sample_add_bucket(sample, pg_hist_bucket(value), count);
}

static double bucket_mid(uint32_t bucket)
{
    return (double)pg_hist_bucket_low(bucket) + ((double)pg_hist_bucket_width(bucket) - 1.0) / 2.0;
}

int pg_stats_sample_from_hist(pg_stats_sample_t *sample, const pg_hist_t *hist,
                              double ns_per_unit, double scale)
{
    sample->count = 0;
    sample->total = 0;
    if (!(ns_per_unit > 0.0) || !(scale >= 0.0) || isinf(ns_per_unit) || isinf(scale))
        return PG_ERR_ARG;
    for (uint32_t row = 0; row < PG_HIST_ROWS; row++) {
        const uint64_t *counts = hist->rows[row];
        if (!counts)
            continue;
        for (uint32_t sub = 0; sub < PG_HIST_SUB; sub++) {
            if (!counts[sub])
                continue;
            double ns = bucket_mid(row * PG_HIST_SUB + sub) * ns_per_unit * scale;
            int rc = pg_stats_sample_add(sample, ns, counts[sub]);
            if (rc < 0)
                return rc;
        }
    }
    return PG_OK;
}

int pg_stats_sample_merge(pg_stats_sample_t *dst, const pg_stats_sample_t *src)
{
    for (uint32_t i = 0; i < src->count; i++) {
        int rc = sample_add_bucket(dst, src->buckets[i], src->counts[i]);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

int pg_stats_sample_merge_scaled(pg_stats_sample_t *dst, const pg_stats_sample_t *src, double scale)
{
    if (!(scale > 0.0) || scale > 1e6)
        return PG_ERR_ARG;
    if (scale == 1.0)
        return pg_stats_sample_merge(dst, src);
    for (uint32_t i = 0; i < src->count; i++) {
        int rc = pg_stats_sample_add(dst, bucket_mid(src->buckets[i]) * scale, src->counts[i]);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

int pg_stats_sample_encode(const pg_stats_sample_t *sample, uint8_t **data, size_t *size)
{
    pg_bytes_t out;
    pg_bytes_init(&out);
    pg_bytes_put_uv(&out, sample->count);
    uint32_t previous = 0;
    for (uint32_t i = 0; i < sample->count; i++) {
        pg_bytes_put_uv(&out, i == 0 ? sample->buckets[0] : sample->buckets[i] - previous);
        pg_bytes_put_uv(&out, sample->counts[i]);
        previous = sample->buckets[i];
    }
    if (out.failed) {
        pg_bytes_release(&out);
        return PG_ERR_NOMEM;
    }
    *data = pg_bytes_detach(&out, size);
    return PG_OK;
}

int pg_stats_sample_decode(pg_stats_sample_t *sample, const uint8_t *data, size_t size)
{
    pg_cursor_t in;
    pg_cursor_init(&in, data, size);
    uint64_t entries = pg_cursor_uv(&in);
    /* each entry takes at least 2 bytes: bounds the loop on hostile input */
    if (in.failed || entries > PG_HIST_BUCKETS || entries * 2 > pg_cursor_left(&in))
        return PG_ERR_CORRUPT;
    uint64_t bucket = 0;
    for (uint64_t i = 0; i < entries; i++) {
        uint64_t step = pg_cursor_uv(&in);
        uint64_t count = pg_cursor_uv(&in);
        if (in.failed || (i > 0 && step == 0) || count == 0 || step >= PG_HIST_BUCKETS)
            return PG_ERR_CORRUPT;
        bucket += step;
        if (bucket >= PG_HIST_BUCKETS || sample->total + count < sample->total)
            return PG_ERR_CORRUPT;
        int rc = sample_add_bucket(sample, (uint32_t)bucket, count);
        if (rc < 0)
            return rc;
    }
    return pg_cursor_left(&in) == 0 ? PG_OK : PG_ERR_CORRUPT;
}

double pg_stats_sample_quantile(const pg_stats_sample_t *sample, double q)
{
    if (sample->total == 0)
        return 0.0;
    if (!(q > 0.0))
        return bucket_mid(sample->buckets[0]);
    if (q >= 1.0)
        return bucket_mid(sample->buckets[sample->count - 1]);
    double wanted = ceil(q * (double)sample->total);
    uint64_t rank = wanted < 1.0 ? 1 : (uint64_t)wanted;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < sample->count; i++) {
        seen += sample->counts[i];
        if (seen >= rank)
            return bucket_mid(sample->buckets[i]);
    }
    return bucket_mid(sample->buckets[sample->count - 1]);
}

double pg_stats_normal_sf(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

void pg_stats_rank_test(const pg_stats_sample_t *a, const pg_stats_sample_t *b,
                        pg_rank_test_t *out)
{
    memset(out, 0, sizeof *out);
    out->n_a = a->total;
    out->n_b = b->total;
    out->p_value = 1.0;
    out->effect = 0.5;
    if (a->total == 0 || b->total == 0)
        return;
    /* Walk both bucket lists in value order. Each distinct bucket is one
     * tie group of t observations holding mid-rank before + (t + 1) / 2. */
    long double rank_sum_b = 0.0L, tie_sum = 0.0L, before = 0.0L;
    uint32_t i = 0, j = 0;
    while (i < a->count || j < b->count) {
        uint64_t in_a = 0, in_b = 0;
        if (j >= b->count || (i < a->count && a->buckets[i] < b->buckets[j])) {
            in_a = a->counts[i++];
        } else if (i >= a->count || b->buckets[j] < a->buckets[i]) {
            in_b = b->counts[j++];
        } else {
            in_a = a->counts[i++];
            in_b = b->counts[j++];
        }
        long double t = (long double)in_a + (long double)in_b;
        rank_sum_b += (long double)in_b * (before + (t + 1.0L) / 2.0L);
        tie_sum += t * t * t - t;
        before += t;
    }
    long double n_a = (long double)a->total, n_b = (long double)b->total, n = n_a + n_b;
    long double u_b = rank_sum_b - n_b * (n_b + 1.0L) / 2.0L;
    long double mean = n_a * n_b / 2.0L;
    long double variance = n_a * n_b / 12.0L * ((n + 1.0L) - tie_sum / (n * (n - 1.0L)));
    out->u_b = (double)u_b;
    out->effect = (double)(u_b / (n_a * n_b));
    if (!(variance > 0.0L))
        return; /* every observation in one bucket: no evidence either way */
    long double distance = fabsl(u_b - mean) - 0.5L; /* continuity correction */
    if (distance < 0.0L)
        distance = 0.0L;
    double z = (double)(distance / sqrtl(variance));
    out->z = u_b >= mean ? z : -z;
    double p = 2.0 * pg_stats_normal_sf(z);
    out->p_value = p > 1.0 ? 1.0 : p;
}

/* splitmix64: small, fast, and good enough to drive a bootstrap. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform index in [0, n) (Lemire's multiply-shift; the bias is < n / 2^64). */
static size_t random_index(uint64_t *state, size_t n)
{
    return (size_t)(((unsigned __int128)next_random(state) * n) >> 64);
}

static int compare_doubles(const void *left, const void *right)
{
    double x = *(const double *)left, y = *(const double *)right;
    return (x > y) - (x < y);
}

/* center of values[0..n); scratch holds n doubles (sorted in place for the
 * median). */
static double center_of(const double *values, size_t n, pg_stats_center_t center,
                        double *scratch)
{
    if (center == PG_STATS_MEAN) {
        double sum = 0.0;
        for (size_t k = 0; k < n; k++)
            sum += values[k];
        return sum / (double)n;
    }
    memcpy(scratch, values, n * sizeof *scratch);
    qsort(scratch, n, sizeof *scratch, compare_doubles);
    return n % 2 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2.0;
}

/* center of n draws with replacement from values (draws into scratch[n..2n)). */
static double resampled_center(const double *values, size_t n, pg_stats_center_t center,
                               uint64_t *state, double *scratch)
{
    double *draws = scratch + n;
    for (size_t k = 0; k < n; k++)
        draws[k] = values[random_index(state, n)];
    return center_of(draws, n, center, scratch);
}

/* Linear interpolation between order statistics of sorted[0..n). */
static double percentile(const double *sorted, size_t n, double fraction)
{
    double position = fraction * (double)(n - 1);
    size_t below = (size_t)position;
    if (below + 1 >= n)
        return sorted[n - 1];
    double weight = position - (double)below;
    return sorted[below] * (1.0 - weight) + sorted[below + 1] * weight;
}

int pg_stats_bootstrap_ratio(const double *a, size_t n_a, const double *b, size_t n_b,
                             pg_stats_center_t center, uint32_t resamples, double confidence,
                             uint64_t seed, pg_interval_t *out)
{
    if (n_a == 0 || n_b == 0 || resamples == 0 || !(confidence > 0.0 && confidence < 1.0) ||
        (center != PG_STATS_MEAN && center != PG_STATS_MEDIAN))
        return PG_ERR_ARG;
    size_t largest = n_a > n_b ? n_a : n_b;
    double *scratch = malloc(2 * largest * sizeof *scratch);
    double *ratios = malloc(resamples * sizeof *ratios);
    if (!scratch || !ratios) {
        free(scratch);
        free(ratios);
        return PG_ERR_NOMEM;
    }
    double center_a = center_of(a, n_a, center, scratch);
    int rc = PG_ERR_ARG;
    if (center_a > 0.0) {
        out->estimate = center_of(b, n_b, center, scratch) / center_a;
        uint64_t state = seed;
        size_t kept = 0;
        for (uint32_t r = 0; r < resamples; r++) {
            double base = resampled_center(a, n_a, center, &state, scratch);
            double current = resampled_center(b, n_b, center, &state, scratch);
            if (base > 0.0) /* a resample of only zeros has no ratio */
                ratios[kept++] = current / base;
        }
        if (kept == 0) {
            out->low = out->high = out->estimate;
        } else {
            qsort(ratios, kept, sizeof *ratios, compare_doubles);
            double tail = (1.0 - confidence) / 2.0;
            out->low = percentile(ratios, kept, tail);
            out->high = percentile(ratios, kept, 1.0 - tail);
        }
        rc = PG_OK;
    }
    free(scratch);
    free(ratios);
    return rc;
}

/* Sort context for the BH ranks (qsort has no user pointer). */
typedef struct ranked_p {
    double p;
    size_t index;
} ranked_p_t;

static int compare_ranked(const void *left, const void *right)
{
    const ranked_p_t *x = left, *y = right;
    if (x->p != y->p)
        return (x->p > y->p) - (x->p < y->p);
    return (x->index > y->index) - (x->index < y->index);
}

int pg_stats_bh_adjust(const double *p, size_t n, double *q)
{
    if (n == 0)
        return PG_OK;
    for (size_t k = 0; k < n; k++)
        if (!(p[k] >= 0.0 && p[k] <= 1.0))
            return PG_ERR_ARG;
    ranked_p_t *ranked = malloc(n * sizeof *ranked);
    if (!ranked)
        return PG_ERR_NOMEM;
    for (size_t k = 0; k < n; k++) {
        ranked[k].p = p[k];
        ranked[k].index = k;
    }
    qsort(ranked, n, sizeof *ranked, compare_ranked);
    /* Step-up: q_(k) = min over j >= k of p_(j) n / j, walking from the top. */
    double running = 1.0;
    for (size_t k = n; k-- > 0;) {
        double candidate = ranked[k].p * (double)n / (double)(k + 1);
        if (candidate < running)
            running = candidate;
        q[ranked[k].index] = running;
    }
    free(ranked);
    return PG_OK;
}
