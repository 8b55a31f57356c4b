#include "pg_hist.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

void pg_hist_init(pg_hist_t *hist)
{
    memset(hist, 0, sizeof *hist);
    hist->min = UINT64_MAX;
}

void pg_hist_release(pg_hist_t *hist)
{
    for (int row = 0; row < PG_HIST_ROWS; row++)
        free(hist->rows[row]);
    pg_hist_init(hist);
}

uint64_t pg_hist_bucket_low(uint32_t bucket)
{
    uint32_t row = bucket >> PG_HIST_SUB_BITS;
    uint64_t sub = bucket & (PG_HIST_SUB - 1);
    if (row == 0)
        return sub;
    return (PG_HIST_SUB + sub) << (row - 1);
}

uint64_t pg_hist_bucket_width(uint32_t bucket)
{
    uint32_t row = bucket >> PG_HIST_SUB_BITS;
    return row == 0 ? 1 : (uint64_t)1 << (row - 1);
}

static uint64_t *row_for(pg_hist_t *hist, uint32_t bucket)
{
    uint32_t row = bucket >> PG_HIST_SUB_BITS;
    if (!hist->rows[row])
        hist->rows[row] = calloc(PG_HIST_SUB, sizeof(uint64_t));
    return hist->rows[row];
}

int pg_hist_add_new_row(pg_hist_t *hist, uint64_t value)
{
    uint32_t bucket = pg_hist_bucket(value);
    uint64_t *row = row_for(hist, bucket);
    hist->count++;
    hist->sum += value;
    if (value < hist->min)
        hist->min = value;
    if (value > hist->max)
        hist->max = value;
    if (!row)
        return PG_ERR_NOMEM;
    row[bucket & (PG_HIST_SUB - 1)]++;
    return PG_OK;
}

int pg_hist_add_bucket(pg_hist_t *hist, uint32_t bucket, uint64_t count)
{
    if (bucket >= PG_HIST_BUCKETS)
        return PG_ERR_ARG;
    uint64_t *row = row_for(hist, bucket);
    if (!row)
        return PG_ERR_NOMEM;
    row[bucket & (PG_HIST_SUB - 1)] += count;
    return PG_OK;
}

uint64_t pg_hist_bucket_count(const pg_hist_t *hist, uint32_t bucket)
{
    const uint64_t *row = hist->rows[bucket >> PG_HIST_SUB_BITS];
    return row ? row[bucket & (PG_HIST_SUB - 1)] : 0;
}

double pg_hist_quantile(const pg_hist_t *hist, double q)
{
    if (hist->count == 0)
        return 0.0;
    if (!(q > 0.0)) /* also NaN, which must not reach the integer cast */
        return (double)hist->min;
    if (q >= 1.0)
        return (double)hist->max;
    uint64_t rank = (uint64_t)(q * (double)hist->count);
    if ((double)rank < q * (double)hist->count)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t row = 0; row < PG_HIST_ROWS; row++) {
        const uint64_t *counts = hist->rows[row];
        if (!counts)
            continue;
        for (uint32_t sub = 0; sub < PG_HIST_SUB; sub++) {
            seen += counts[sub];
            if (seen < rank)
                continue;
            uint32_t bucket = row * PG_HIST_SUB + sub;
            double mid = (double)pg_hist_bucket_low(bucket) +
                         ((double)pg_hist_bucket_width(bucket) - 1.0) / 2.0;
            if (mid < (double)hist->min)
                mid = (double)hist->min;
            if (mid > (double)hist->max)
                mid = (double)hist->max;
            return mid;
        }
    }
    return (double)hist->max; /* rows were lost to NOMEM: best answer left */
}

int pg_hist_merge(pg_hist_t *dst, const pg_hist_t *src)
{
    if (src->count == 0)
        return PG_OK;
    for (uint32_t row = 0; row < PG_HIST_ROWS; row++) {
        if (!src->rows[row])
            continue;
        for (uint32_t sub = 0; sub < PG_HIST_SUB; sub++) {
            uint64_t n = src->rows[row][sub];
            if (n && pg_hist_add_bucket(dst, row * PG_HIST_SUB + sub, n) < 0)
                return PG_ERR_NOMEM;
        }
    }
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return PG_OK;
}

uint64_t pg_hist_memory(const pg_hist_t *hist)
{
    uint64_t bytes = 0;
    for (int row = 0; row < PG_HIST_ROWS; row++)
        if (hist->rows[row])
            bytes += PG_HIST_SUB * sizeof(uint64_t);
    return bytes;
}
