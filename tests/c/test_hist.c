/* pg_hist: bucket layout, accuracy promised by pg_hist.h, quantiles against
 * exact order statistics, merge, memory. */
#include <math.h>

#include "pg_hist.h"
#include "pg_test.h"
#include "pg_test_files.h"

/* Every bucket is contiguous with the next, maps its own first and last
 * value to itself, and is at most 1/128 of its lower bound wide. */
static void test_bucket_boundaries(void)
{
    for (uint64_t v = 0; v < PG_HIST_SUB; v++) {
        PG_CHECK_U64(pg_hist_bucket(v), v);
        PG_CHECK_U64(pg_hist_bucket_width((uint32_t)v), 1);
    }
    for (uint32_t b = 0; b < PG_HIST_BUCKETS; b++) {
        uint64_t low = pg_hist_bucket_low(b);
        uint64_t width = pg_hist_bucket_width(b);
        uint64_t high = low + (width - 1);
        PG_CHECK(width >= 1 && high >= low);
        PG_CHECK_U64(pg_hist_bucket(low), b);
        PG_CHECK_U64(pg_hist_bucket(high), b);
        if (b > 0) {
            PG_CHECK_U64(pg_hist_bucket(low - 1), b - 1);
            PG_CHECK_U64(pg_hist_bucket_low(b - 1) + pg_hist_bucket_width(b - 1), low);
        }
        if (b >= PG_HIST_SUB)
            PG_CHECK(width <= low / PG_HIST_SUB);
    }
    uint32_t last = PG_HIST_BUCKETS - 1;
    PG_CHECK_U64(pg_hist_bucket_low(last) + (pg_hist_bucket_width(last) - 1), UINT64_MAX);
    PG_CHECK_U64(pg_hist_bucket(UINT64_MAX), last);
    PG_CHECK_U64(pg_hist_bucket(128), 128);
    PG_CHECK_U64(pg_hist_bucket(255), 255);
    PG_CHECK_U64(pg_hist_bucket(256), 256);
    PG_CHECK_U64(pg_hist_bucket(257), 256); /* width 2 from 256 on */
}

/* Values at all magnitudes: the bucket midpoint is within 0.4% of the
 * value (1/256 exactly, half the widest relative bucket). */
static void test_midpoint_error(void)
{
    uint64_t state = 0x9e3779b97f4a7c15ull;
    double worst = 0.0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = pg_test_random(&state);
        uint64_t value = r >> (pg_test_random(&state) % 64);
        if (value == 0)
            continue;
        uint32_t b = pg_hist_bucket(value);
        double mid = (double)pg_hist_bucket_low(b) +
                     ((double)pg_hist_bucket_width(b) - 1.0) / 2.0;
        double error = fabs(mid - (double)value) / (double)value;
        if (error > worst)
            worst = error;
    }
    PG_CHECK(worst <= 0.004);
    PG_CHECK(worst <= 1.0 / 256.0 + 1e-12);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The rank pg_hist_quantile uses: ceil(q * n), at least 1. */
static uint64_t rank_of(double q, uint64_t n)
{
    uint64_t rank = (uint64_t)(q * (double)n);
    if ((double)rank < q * (double)n)
        rank++;
    return rank ? rank : 1;
}

/* Quantiles of a skewed sample agree with the exact order statistics of
 * the sorted data within 1%. */
static void test_quantiles(void)
{
    enum { N = 200000 };
    uint64_t *values = malloc(N * sizeof *values);
    PG_CHECK(values != NULL);
    uint64_t state = 42;
    pg_hist_t hist;
    pg_hist_init(&hist);
    for (int i = 0; i < N; i++) {
        uint64_t r = pg_test_random(&state);
        /* mostly ~1e5, a long tail up to ~1e12 */
        values[i] = 50000 + r % 100000;
        if (r % 100 < 7)
            values[i] <<= 1 + pg_test_random(&state) % 24;
        PG_CHECK_RC(pg_hist_add(&hist, values[i]), PG_OK);
    }
    qsort(values, N, sizeof *values, compare_u64);
    static const double qs[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
                                0.95,  0.99, 0.999, 0.9999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double exact = (double)values[rank_of(qs[i], N) - 1];
        PG_CHECK_NEAR(pg_hist_quantile(&hist, qs[i]), exact, exact * 0.01);
    }
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.0), (double)values[0], 0);
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 1.0), (double)values[N - 1], 0);
    PG_CHECK_U64(hist.min, values[0]);
    PG_CHECK_U64(hist.max, values[N - 1]);
    PG_CHECK_U64(hist.count, N);
    /* A NaN quantile must not reach the float-to-integer cast. */
    PG_CHECK_NEAR(pg_hist_quantile(&hist, NAN), (double)values[0], 0);
    pg_hist_release(&hist);
    free(values);
}

static void test_quantile_small_cases(void)
{
    pg_hist_t hist;
    pg_hist_init(&hist);
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.5), 0.0, 0);
    PG_CHECK_U64(hist.min, UINT64_MAX);
    pg_hist_add(&hist, 1000003);
    /* One value: every quantile is that value (clamped to min/max). */
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.5), 1000003, 0);
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.99), 1000003, 0);
    pg_hist_release(&hist);
    /* Small integers have exact buckets. */
    for (uint64_t v = 1; v <= 100; v++)
        pg_hist_add(&hist, v);
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.5), 50, 0);
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.95), 95, 0);
    PG_CHECK_NEAR(pg_hist_quantile(&hist, 0.951), 96, 0);
    PG_CHECK_U64(hist.sum, 5050);
    pg_hist_release(&hist);
}

/* merge(a, b) equals one histogram fed every value of both. */
static void test_merge(void)
{
    pg_hist_t a, b, all, empty;
    pg_hist_init(&a);
    pg_hist_init(&b);
    pg_hist_init(&all);
    pg_hist_init(&empty);
    uint64_t state = 7;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = pg_test_random(&state) >> (pg_test_random(&state) % 64);
        PG_CHECK_RC(pg_hist_add(i % 3 ? &a : &b, v), PG_OK);
        PG_CHECK_RC(pg_hist_add(&all, v), PG_OK);
    }
    pg_hist_t a_copy;
    pg_hist_init(&a_copy);
    PG_CHECK_RC(pg_hist_merge(&a_copy, &a), PG_OK); /* into an empty one */
    pg_test_check_hists_equal(&a_copy, &a);
    PG_CHECK_RC(pg_hist_merge(&a_copy, &empty), PG_OK); /* empty: no change */
    pg_test_check_hists_equal(&a_copy, &a);
    PG_CHECK_RC(pg_hist_merge(&a, &b), PG_OK);
    pg_test_check_hists_equal(&a, &all);
    PG_CHECK_NEAR(pg_hist_quantile(&a, 0.5), pg_hist_quantile(&all, 0.5), 0);
    pg_hist_release(&a);
    pg_hist_release(&b);
    pg_hist_release(&all);
    pg_hist_release(&a_copy);
    pg_hist_release(&empty);
}

/* Rows are allocated only where values land. */
static void test_memory(void)
{
    pg_hist_t hist;
    pg_hist_init(&hist);
    PG_CHECK_U64(pg_hist_memory(&hist), 0);
    pg_hist_add(&hist, 5);
    pg_hist_add(&hist, 6);
    PG_CHECK_U64(pg_hist_memory(&hist), PG_HIST_SUB * sizeof(uint64_t));
    pg_hist_add(&hist, (uint64_t)1 << 40);
    PG_CHECK_U64(pg_hist_memory(&hist), 2 * PG_HIST_SUB * sizeof(uint64_t));
    PG_CHECK_RC(pg_hist_add_bucket(&hist, PG_HIST_BUCKETS, 1), PG_ERR_ARG);
    PG_CHECK_RC(pg_hist_add_bucket(&hist, PG_HIST_BUCKETS - 1, 3), PG_OK);
    PG_CHECK_U64(pg_hist_bucket_count(&hist, PG_HIST_BUCKETS - 1), 3);
    PG_CHECK_U64(pg_hist_bucket_count(&hist, 1000), 0);
    pg_hist_release(&hist);
    PG_CHECK_U64(pg_hist_memory(&hist), 0);
    PG_CHECK_U64(hist.count, 0);
}

int main(void)
{
    test_bucket_boundaries();
    test_midpoint_error();
    test_quantiles();
    test_quantile_small_cases();
    test_merge();
    test_memory();
    puts("test_hist: ok");
    return 0;
}
