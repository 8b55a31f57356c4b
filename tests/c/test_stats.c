/* pg_stats: the rank test against hand-computed Mann-Whitney values (with and
 * without ties), the sample encoding and its validation, re-bucketing of a
 * pg_hist, Benjamini-Hochberg, and the bootstrap interval. */
#include <math.h>

#include "pg_stats.h"
#include "pg_test.h"

/* A sample of small integer durations (below 128 ns each value has its own
 * bucket, so ties are exactly equal values). */
static void sample_of(pg_stats_sample_t *sample, const double *values, size_t n)
{
    pg_stats_sample_init(sample);
    for (size_t k = 0; k < n; k++)
        PG_CHECK_RC(pg_stats_sample_add(sample, values[k], 1), PG_OK);
}

/* a = {1,2,3}, b = {4,5,6}: U_b = 9, mean 4.5, variance 3*3*7/12 = 5.25,
 * z = (9 - 4.5 - 0.5) / sqrt(5.25) = 1.7457431, p = 2 sf(z) = 0.0808556. */
static void test_rank_no_ties(void)
{
    const double va[] = {1, 2, 3}, vb[] = {4, 5, 6};
    pg_stats_sample_t a, b;
    sample_of(&a, va, 3);
    sample_of(&b, vb, 3);
    pg_rank_test_t t;
    pg_stats_rank_test(&a, &b, &t);
    PG_CHECK_U64(t.n_a, 3);
    PG_CHECK_U64(t.n_b, 3);
    PG_CHECK_NEAR(t.u_b, 9.0, 1e-12);
    PG_CHECK_NEAR(t.effect, 1.0, 1e-12);
    PG_CHECK_NEAR(t.z, 1.7457431218879391, 1e-9);
    PG_CHECK_NEAR(t.p_value, 0.0808555983700523, 1e-9);
    /* swapped: the same p, the opposite direction */
    pg_stats_rank_test(&b, &a, &t);
    PG_CHECK_NEAR(t.u_b, 0.0, 1e-12);
    PG_CHECK_NEAR(t.z, -1.7457431218879391, 1e-9);
    PG_CHECK_NEAR(t.p_value, 0.0808555983700523, 1e-9);
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&b);
}

/* a = {1,2,2,3}, b = {2,3,3,4}: mid-ranks 1 | 3 3 3 | 6 6 6 | 8, so
 * R_b = 3 + 6 + 6 + 8 = 23, U_b = 23 - 10 = 13; tie groups 1,3,3,1 give
 * sum(t^3 - t) = 48, variance = 16/12 * (9 - 48/56) = 10.857142857,
 * z = (13 - 8 - 0.5) / sqrt(variance) = 1.3656982, p = 0.1720337. */
static void test_rank_with_ties(void)
{
    const double va[] = {1, 2, 2, 3}, vb[] = {2, 3, 3, 4};
    pg_stats_sample_t a, b;
    sample_of(&a, va, 4);
    sample_of(&b, vb, 4);
    PG_CHECK_U64(a.count, 3); /* 2 twice: one bucket with count 2 */
    pg_rank_test_t t;
    pg_stats_rank_test(&a, &b, &t);
    PG_CHECK_NEAR(t.u_b, 13.0, 1e-12);
    PG_CHECK_NEAR(t.effect, 13.0 / 16.0, 1e-12);
    PG_CHECK_NEAR(t.z, 1.365698202000489, 1e-9);
    PG_CHECK_NEAR(t.p_value, 0.17203370892182296, 1e-9);
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&b);
}

/* Identical samples: no evidence; empty or single-bucket: p = 1. */
static void test_rank_degenerate(void)
{
    pg_stats_sample_t a, b, empty;
    pg_stats_sample_init(&a);
    pg_stats_sample_init(&b);
    pg_stats_sample_init(&empty);
    for (int v = 1000; v < 2000; v += 7) {
        PG_CHECK_RC(pg_stats_sample_add(&a, v, 3), PG_OK);
        PG_CHECK_RC(pg_stats_sample_add(&b, v, 3), PG_OK);
    }
    pg_rank_test_t t;
    pg_stats_rank_test(&a, &b, &t);
    PG_CHECK_NEAR(t.effect, 0.5, 1e-12);
    PG_CHECK_NEAR(t.p_value, 1.0, 1e-12);
    pg_stats_rank_test(&a, &empty, &t);
    PG_CHECK_NEAR(t.p_value, 1.0, 0.0);
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&b);
    PG_CHECK_RC(pg_stats_sample_add(&a, 500, 10), PG_OK);
    PG_CHECK_RC(pg_stats_sample_add(&b, 500, 20), PG_OK);
    pg_stats_rank_test(&a, &b, &t);
    PG_CHECK_NEAR(t.p_value, 1.0, 0.0);
    PG_CHECK_NEAR(t.effect, 0.5, 1e-12);
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&b);
}

/* A 10% shift of 2000 jittered calls is overwhelming evidence; a 0.1% one
 * (inside one bucket) is none. */
static void test_rank_shift(void)
{
    uint64_t state = 42;
    pg_stats_sample_t a, b, c;
    pg_stats_sample_init(&a);
    pg_stats_sample_init(&b);
    pg_stats_sample_init(&c);
    for (int k = 0; k < 2000; k++) {
        double jitter = (double)(pg_test_random(&state) % 1000) / 1000.0; /* [0, 1) */
        double base = 20000.0 * (1.0 + 0.05 * jitter);
        PG_CHECK_RC(pg_stats_sample_add(&a, base, 1), PG_OK);
        PG_CHECK_RC(pg_stats_sample_add(&b, base * 1.10, 1), PG_OK);
        PG_CHECK_RC(pg_stats_sample_add(&c, base, 1), PG_OK);
    }
    pg_rank_test_t t;
    pg_stats_rank_test(&a, &b, &t);
    PG_CHECK(t.p_value < 1e-12);
    PG_CHECK(t.z > 10.0);
    PG_CHECK(t.effect > 0.95);
    pg_stats_rank_test(&a, &c, &t);
    PG_CHECK_NEAR(t.p_value, 1.0, 1e-12);
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&b);
    pg_stats_sample_release(&c);
}

static void test_encode_roundtrip(void)
{
    pg_stats_sample_t a, back;
    pg_stats_sample_init(&a);
    pg_stats_sample_init(&back);
    /* insertion out of order: buckets stay sorted and merged */
    PG_CHECK_RC(pg_stats_sample_add(&a, 5e6, 2), PG_OK);
    PG_CHECK_RC(pg_stats_sample_add(&a, 3.0, 1), PG_OK);
    PG_CHECK_RC(pg_stats_sample_add(&a, 1e12, 7), PG_OK);
    PG_CHECK_RC(pg_stats_sample_add(&a, 5e6, 1), PG_OK);
    PG_CHECK_RC(pg_stats_sample_add(&a, -1.0, 1), PG_OK); /* negative: 0 ns */
    PG_CHECK_U64(a.count, 4);
    PG_CHECK_U64(a.total, 12);
    for (uint32_t k = 1; k < a.count; k++)
        PG_CHECK(a.buckets[k - 1] < a.buckets[k]);
    uint8_t *data = NULL;
    size_t size = 0;
    PG_CHECK_RC(pg_stats_sample_encode(&a, &data, &size), PG_OK);
    PG_CHECK_RC(pg_stats_sample_decode(&back, data, size), PG_OK);
    PG_CHECK_U64(back.count, a.count);
    PG_CHECK_U64(back.total, a.total);
    for (uint32_t k = 0; k < a.count; k++) {
        PG_CHECK_U64(back.buckets[k], a.buckets[k]);
        PG_CHECK_U64(back.counts[k], a.counts[k]);
    }
    /* every truncation is rejected */
    for (size_t cut = 0; cut < size; cut++) {
        pg_stats_sample_t partial;
        pg_stats_sample_init(&partial);
        PG_CHECK_RC(pg_stats_sample_decode(&partial, data, cut), PG_ERR_CORRUPT);
        pg_stats_sample_release(&partial);
    }
    free(data);
    /* zero count, repeated bucket, bucket past the grid, trailing byte */
    const uint8_t zero_count[] = {1, 5, 0};
    const uint8_t repeated[] = {2, 5, 1, 0, 1};
    const uint8_t too_far[] = {1, 0x80, 0x80, 0x01, 1}; /* bucket 16384 */
    const uint8_t trailing[] = {1, 5, 1, 9};
    const uint8_t *bad[] = {zero_count, repeated, too_far, trailing};
    const size_t bad_size[] = {sizeof zero_count, sizeof repeated, sizeof too_far, sizeof trailing};
    for (size_t k = 0; k < 4; k++) {
        pg_stats_sample_t junk;
        pg_stats_sample_init(&junk);
        PG_CHECK_RC(pg_stats_sample_decode(&junk, bad[k], bad_size[k]), PG_ERR_CORRUPT);
        pg_stats_sample_release(&junk);
    }
    const uint8_t empty[] = {0};
    PG_CHECK_RC(pg_stats_sample_decode(&back, empty, 1), PG_OK); /* adds nothing */
    PG_CHECK_U64(back.total, 12);
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&back);
}

/* Re-bucketing a histogram in ticks of 2.5 ns, with a 0.8 correction:
 * quantiles land within a bucket of ticks * 2.5 * 0.8. */
static void test_from_hist_and_merge(void)
{
    pg_hist_t hist;
    pg_hist_init(&hist);
    for (uint64_t v = 1000; v < 3000; v++)
        PG_CHECK_RC(pg_hist_add(&hist, v), PG_OK);
    pg_stats_sample_t s, pooled;
    pg_stats_sample_init(&s);
    pg_stats_sample_init(&pooled);
    PG_CHECK_RC(pg_stats_sample_from_hist(&s, &hist, 2.5, 0.8), PG_OK);
    PG_CHECK_U64(s.total, 2000);
    double median = pg_stats_sample_quantile(&s, 0.5);
    PG_CHECK_NEAR(median, 2000.0 * 2.0, 2000.0 * 2.0 * 0.012);
    double p95 = pg_stats_sample_quantile(&s, 0.95);
    PG_CHECK_NEAR(p95, 2900.0 * 2.0, 2900.0 * 2.0 * 0.012);
    PG_CHECK_RC(pg_stats_sample_from_hist(&s, &hist, 0.0, 1.0), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_sample_from_hist(&s, &hist, 2.5, 0.8), PG_OK);
    PG_CHECK_RC(pg_stats_sample_merge(&pooled, &s), PG_OK);
    PG_CHECK_RC(pg_stats_sample_merge(&pooled, &s), PG_OK);
    PG_CHECK_U64(pooled.total, 4000);
    PG_CHECK_U64(pooled.count, s.count);
    PG_CHECK_NEAR(pg_stats_sample_quantile(&pooled, 0.5), median, 0.0);
    pg_hist_release(&hist);
    pg_stats_sample_release(&s);
    pg_stats_sample_release(&pooled);
}

/* p = {0.01, 0.04, 0.03, 0.005}: sorted 0.005 0.01 0.03 0.04 give
 * p n / k = 0.02 0.02 0.04 0.04, already monotone, so
 * q = {0.02, 0.04, 0.04, 0.02}. A later smaller value pulls earlier ones
 * down: {0.04, 0.041} -> {0.041, 0.041}. */
static void test_bh(void)
{
    double p[] = {0.01, 0.04, 0.03, 0.005};
    double q[4];
    PG_CHECK_RC(pg_stats_bh_adjust(p, 4, q), PG_OK);
    PG_CHECK_NEAR(q[0], 0.02, 1e-15);
    PG_CHECK_NEAR(q[1], 0.04, 1e-15);
    PG_CHECK_NEAR(q[2], 0.04, 1e-15);
    PG_CHECK_NEAR(q[3], 0.02, 1e-15);
    double p2[] = {0.04, 0.041};
    PG_CHECK_RC(pg_stats_bh_adjust(p2, 2, p2), PG_OK); /* in place */
    PG_CHECK_NEAR(p2[0], 0.041, 1e-15);
    PG_CHECK_NEAR(p2[1], 0.041, 1e-15);
    double big[] = {0.9, 0.8};
    PG_CHECK_RC(pg_stats_bh_adjust(big, 2, big), PG_OK);
    PG_CHECK(big[0] <= 1.0 && big[1] <= 1.0);
    double bad[] = {0.5, NAN};
    PG_CHECK_RC(pg_stats_bh_adjust(bad, 2, q), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_bh_adjust(bad, 0, q), PG_OK);
}

static void test_bootstrap(void)
{
    pg_interval_t out, again;
    const double ones[] = {1, 1, 1}, twos[] = {2, 2, 2};
    PG_CHECK_RC(pg_stats_bootstrap_ratio(ones, 3, twos, 3, PG_STATS_MEAN, 500, 0.95, 1, &out), PG_OK);
    PG_CHECK_NEAR(out.estimate, 2.0, 1e-15);
    PG_CHECK_NEAR(out.low, 2.0, 1e-15);
    PG_CHECK_NEAR(out.high, 2.0, 1e-15);
    const double base[] = {10.0, 10.4, 9.7, 10.1, 9.9};
    double slower[5];
    for (int k = 0; k < 5; k++)
        slower[k] = base[k] * 1.10;
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 5, slower, 5, PG_STATS_MEAN, 2000, 0.95, 7, &out), PG_OK);
    PG_CHECK_NEAR(out.estimate, 1.10, 1e-12);
    PG_CHECK(out.low > 1.05 && out.low < 1.10);
    PG_CHECK(out.high > 1.10 && out.high < 1.15);
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 5, slower, 5, PG_STATS_MEAN, 2000, 0.95, 7, &again), PG_OK);
    PG_CHECK_NEAR(again.low, out.low, 0.0); /* same seed, same interval */
    PG_CHECK_NEAR(again.high, out.high, 0.0);
    /* an A/A comparison's interval holds 1 */
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 5, base, 5, PG_STATS_MEAN, 2000, 0.95, 7, &out), PG_OK);
    PG_CHECK(out.low < 1.0 && out.high > 1.0);
    const double zeros[] = {0, 0};
    PG_CHECK_RC(pg_stats_bootstrap_ratio(zeros, 2, base, 5, PG_STATS_MEAN, 100, 0.95, 1, &out), PG_ERR_ARG);
    /* the median ignores one disturbed run of nine; the mean does not */
    const double steady[] = {10.0, 10.4, 9.7, 10.1, 9.9, 10.2, 9.8, 10.0, 10.3};
    double disturbed[9];
    for (int k = 0; k < 9; k++)
        disturbed[k] = steady[k] * 1.10;
    disturbed[8] = 30.0;
    PG_CHECK_RC(pg_stats_bootstrap_ratio(steady, 9, disturbed, 9, PG_STATS_MEDIAN, 2000, 0.95, 7,
                                         &out), PG_OK);
    PG_CHECK_NEAR(out.estimate, 1.10, 1e-12); /* medians 10.0 and 11.0 */
    PG_CHECK(out.low > 1.0 && out.high < 1.2);
    PG_CHECK_RC(pg_stats_bootstrap_ratio(steady, 9, disturbed, 9, PG_STATS_MEAN, 2000, 0.95, 7,
                                         &out), PG_OK);
    PG_CHECK(out.high > 1.5);
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 5, base, 5, (pg_stats_center_t)7, 10, 0.5, 1, &out),
                PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 0, base, 5, PG_STATS_MEAN, 100, 0.95, 1, &out), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 5, base, 5, PG_STATS_MEAN, 0, 0.95, 1, &out), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_bootstrap_ratio(base, 5, base, 5, PG_STATS_MEAN, 10, 1.0, 1, &out), PG_ERR_ARG);
}

static void test_normal_sf(void)
{
    PG_CHECK_NEAR(pg_stats_normal_sf(0.0), 0.5, 1e-15);
    PG_CHECK_NEAR(pg_stats_normal_sf(1.959963984540054), 0.025, 1e-12);
    PG_CHECK_NEAR(pg_stats_normal_sf(-1.959963984540054), 0.975, 1e-12);
    PG_CHECK(pg_stats_normal_sf(40.0) >= 0.0 && pg_stats_normal_sf(40.0) < 1e-300);
}

/* Scaled merge: quantiles move by the scale (to within a bucket), the count
 * is kept, 1.0 is the exact merge, a bad scale is refused; and a rank test
 * of a sample against itself slowed by 1.5x and scaled back finds nothing. */
static void test_merge_scaled(void)
{
    pg_stats_sample_t s, half, same, slow, back;
    pg_stats_sample_init(&s);
    pg_stats_sample_init(&half);
    pg_stats_sample_init(&same);
    pg_stats_sample_init(&slow);
    pg_stats_sample_init(&back);
    for (int v = 1000; v < 3000; v += 7)
        PG_CHECK_RC(pg_stats_sample_add(&s, (double)v, 3), PG_OK);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&half, &s, 0.5), PG_OK);
    PG_CHECK_U64(half.total, s.total);
    double median = pg_stats_sample_quantile(&s, 0.5);
    PG_CHECK_NEAR(pg_stats_sample_quantile(&half, 0.5), median * 0.5, median * 0.5 * 0.012);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&same, &s, 1.0), PG_OK);
    PG_CHECK_U64(same.count, s.count);
    PG_CHECK_NEAR(pg_stats_sample_quantile(&same, 0.5), median, 0.0);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&same, &s, 0.0), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&same, &s, -2.0), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&same, &s, NAN), PG_ERR_ARG);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&slow, &s, 1.5), PG_OK);
    pg_rank_test_t test;
    pg_stats_rank_test(&s, &slow, &test);
    PG_CHECK(test.p_value < 1e-6 && test.effect > 0.7);
    PG_CHECK_RC(pg_stats_sample_merge_scaled(&back, &slow, 1.0 / 1.5), PG_OK);
    pg_stats_rank_test(&s, &back, &test);
    PG_CHECK(test.p_value > 0.2 && fabs(test.effect - 0.5) < 0.05);
    pg_stats_sample_release(&s);
    pg_stats_sample_release(&half);
    pg_stats_sample_release(&same);
    pg_stats_sample_release(&slow);
    pg_stats_sample_release(&back);
}

int main(void)
{
    test_rank_no_ties();
    test_rank_with_ties();
    test_rank_degenerate();
    test_rank_shift();
    test_encode_roundtrip();
    test_from_hist_and_merge();
    test_merge_scaled();
    test_bh();
    test_bootstrap();
    test_normal_sf();
    puts("test_stats: ok");
    return 0;
}
