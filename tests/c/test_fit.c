/* pg_fit: complexity classes recovered from exact and noisy series,
 * intervals, determinism, and the input rules. */
#include <math.h>

#include "pg_fit.h"
#include "pg_test.h"

static const double sizes5[5] = {1000, 3162, 10000, 31623, 100000};

/* The true value of class at n: a start-up cost plus growth. */
static double truth(pg_fit_class_t class_, double n)
{
    switch (class_) {
    case PG_FIT_CONSTANT: return 1e-4;
    case PG_FIT_LOG: return 2e-6 + 1e-5 * log(n);
    case PG_FIT_LINEAR: return 2e-6 + 1e-8 * n;
    case PG_FIT_NLOGN: return 2e-6 + 1e-9 * n * log(n);
    case PG_FIT_QUADRATIC: return 5e-7 + 4e-15 * n * n;
    case PG_FIT_CUBIC: return 1e-6 + 1e-19 * n * n * n;
    case PG_FIT_POWER: return 3e-8 * pow(n, 1.5);
    default: return 0.0;
    }
}

/* A standard normal draw (Box-Muller) from the tests' generator. */
static double gaussian(uint64_t *state)
{
    double u1 = ((pg_test_random(state) >> 11) + 1.0) * 0x1.0p-53;
    double u2 = (pg_test_random(state) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static pg_fit_options_t options_for(double target)
{
    return (pg_fit_options_t){.target = target, .floor = 1e-7, .min_noise = 0.0,
                              .bootstrap = 200, .seed = 7, .level = 0.9};
}

static void test_exact_series(void)
{
    for (int c = 0; c < PG_FIT_CLASS_COUNT; c++) {
        double y[5];
        for (int i = 0; i < 5; i++)
            y[i] = truth((pg_fit_class_t)c, sizes5[i]);
        pg_fit_options_t options = options_for(1e7);
        pg_fit_result_t result;
        PG_CHECK_RC(pg_fit_series(sizes5, y, 5, &options, &result), PG_OK);
        if (result.chosen != (pg_fit_class_t)c)
            fprintf(stderr, "class %s chosen as %s\n", pg_fit_class_name(c),
                    pg_fit_class_name(result.chosen));
        PG_CHECK(result.chosen == (pg_fit_class_t)c);
        PG_CHECK_U64(result.sizes, 5);
        double want = truth((pg_fit_class_t)c, 1e7);
        PG_CHECK_NEAR(result.forecast / want, 1.0, 1e-6);
        PG_CHECK(result.low <= result.forecast && result.forecast <= result.high);
        PG_CHECK_NEAR(result.confidence, 1.0, 1e-9);
        PG_CHECK_NEAR(pg_fit_eval((pg_fit_class_t)c, &result.models[c], 1e7) / want, 1.0, 1e-6);
        PG_CHECK(result.models[c].cv_error < 1e-6);
    }
}

/* Exact counts (calls = n, calls = 1) are classified with full confidence. */
static void test_counts(void)
{
    double calls[5], once[5];
    for (int i = 0; i < 5; i++) {
        calls[i] = sizes5[i];
        once[i] = 1.0;
    }
    pg_fit_options_t options = options_for(1e7);
    options.floor = 0.5;
    pg_fit_result_t result;
    PG_CHECK_RC(pg_fit_series(sizes5, calls, 5, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_LINEAR);
    PG_CHECK_NEAR(result.forecast, 1e7, 1e-3);
    PG_CHECK_RC(pg_fit_series(sizes5, once, 5, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_CONSTANT);
    PG_CHECK_NEAR(result.forecast, 1.0, 1e-12);
    PG_CHECK_NEAR(result.high, 1.0, 1e-12);
}

/* 5 sizes x 3 repeats with 3% log-normal noise: each class recovered in at
 * least 90% of 100 trials, and the 90% interval covers a fresh noisy value
 * at 100x the largest size in at least 80% of all trials. */
static void test_noisy_series(void)
{
    uint64_t state = 12345;
    const pg_fit_class_t classes[] = {PG_FIT_CONSTANT, PG_FIT_LINEAR, PG_FIT_NLOGN,
                                      PG_FIT_QUADRATIC, PG_FIT_CUBIC};
    int covered = 0, total = 0;
    for (size_t k = 0; k < sizeof classes / sizeof classes[0]; k++) {
        int correct = 0;
        for (int trial = 0; trial < 100; trial++) {
            double n[15], y[15];
            for (int i = 0; i < 15; i++) {
                n[i] = sizes5[i / 3];
                y[i] = truth(classes[k], n[i]) * exp(0.03 * gaussian(&state));
            }
            pg_fit_options_t options = options_for(1e7);
            options.seed = (uint64_t)trial;
            pg_fit_result_t result;
            PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &result), PG_OK);
            correct += result.chosen == classes[k];
            double fresh = truth(classes[k], 1e7) * exp(0.03 * gaussian(&state));
            covered += result.low <= fresh && fresh <= result.high;
            total++;
        }
        if (correct < 90)
            fprintf(stderr, "%s: %d of 100 correct\n", pg_fit_class_name(classes[k]), correct);
        PG_CHECK(correct >= 90);
    }
    PG_CHECK(covered * 10 >= total * 8);
}

/* One wild repeat does not move the class: the fit uses each size's median. */
static void test_outlier_repeat(void)
{
    double n[15], y[15];
    for (int i = 0; i < 15; i++) {
        n[i] = sizes5[i / 3];
        y[i] = truth(PG_FIT_LINEAR, n[i]);
    }
    y[1] *= 50; /* one run at the smallest size was descheduled */
    pg_fit_options_t options = options_for(1e7);
    pg_fit_result_t result;
    PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_LINEAR);
    PG_CHECK_NEAR(result.forecast / truth(PG_FIT_LINEAR, 1e7), 1.0, 1e-6);
    PG_CHECK(result.noise > 0);
    PG_CHECK(result.high > result.low); /* the spread shows in the interval */
}

/* The interval grows with the distance to the target, and min_noise
 * widens even an exact series' interval. */
static void test_interval_width(void)
{
    double n[5], y[5];
    uint64_t state = 5;
    for (int i = 0; i < 5; i++) {
        n[i] = sizes5[i];
        y[i] = truth(PG_FIT_LINEAR, n[i]) * exp(0.02 * gaussian(&state));
    }
    pg_fit_options_t options = options_for(1e6);
    pg_fit_result_t near, far;
    PG_CHECK_RC(pg_fit_series(n, y, 5, &options, &near), PG_OK);
    options.target = 1e8;
    PG_CHECK_RC(pg_fit_series(n, y, 5, &options, &far), PG_OK);
    PG_CHECK(near.chosen == PG_FIT_LINEAR && far.chosen == PG_FIT_LINEAR);
    PG_CHECK(far.high / far.low > near.high / near.low);
    double exact[5];
    for (int i = 0; i < 5; i++)
        exact[i] = truth(PG_FIT_LINEAR, n[i]);
    options = options_for(1e7);
    PG_CHECK_RC(pg_fit_series(n, exact, 5, &options, &near), PG_OK);
    PG_CHECK_NEAR(near.high / near.low, 1.0, 1e-6);
    options.min_noise = 0.05;
    PG_CHECK_RC(pg_fit_series(n, exact, 5, &options, &far), PG_OK);
    PG_CHECK(far.high / far.low > 1.1 && far.high / far.low < 1.5);
    PG_CHECK(far.low < far.forecast && far.forecast < far.high);
}

/* With the minimum as location, disturbed runs (slower, never faster) at
 * every size leave the class and the forecast alone. */
static void test_minimum_location(void)
{
    double n[15], y[15];
    uint64_t state = 11;
    for (int i = 0; i < 15; i++) {
        n[i] = sizes5[i / 3];
        y[i] = truth(PG_FIT_QUADRATIC, n[i]);
        if (i % 3)
            y[i] *= 1.0 + 3.0 * ((pg_test_random(&state) >> 11) * 0x1.0p-53);
    }
    pg_fit_options_t options = options_for(1e7);
    options.location = PG_FIT_MINIMUM;
    pg_fit_result_t result;
    PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_QUADRATIC);
    PG_CHECK_NEAR(result.forecast / truth(PG_FIT_QUADRATIC, 1e7), 1.0, 1e-6);
    PG_CHECK(result.high > result.forecast); /* a disturbed run at the target is possible */
    options.location = 7;
    PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &result), PG_ERR_ARG);
}

static void test_few_sizes(void)
{
    pg_fit_options_t options = options_for(1e6);
    pg_fit_result_t result;
    double n1[3] = {1000, 1000, 1000}, y1[3] = {5, 3, 4};
    PG_CHECK_RC(pg_fit_series(n1, y1, 3, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_NONE);
    PG_CHECK_U64(result.sizes, 1);
    PG_CHECK_NEAR(result.forecast, 4.0, 1e-12);
    PG_CHECK(strcmp(pg_fit_class_name(result.chosen), "none") == 0);
    PG_CHECK(pg_fit_eval(PG_FIT_NONE, &result.models[0], 10) == 0.0);

    double n2[2] = {1000, 10000}, y2[2] = {1e6, 1e8}; /* n^2, no start-up cost */
    PG_CHECK_RC(pg_fit_series(n2, y2, 2, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_QUADRATIC);
    PG_CHECK_NEAR(result.forecast / 1e12, 1.0, 1e-9);
    PG_CHECK(isinf(result.models[PG_FIT_POWER].cv_error));
}

static void test_deterministic(void)
{
    double n[15], y[15];
    uint64_t state = 99;
    for (int i = 0; i < 15; i++) {
        n[i] = sizes5[i / 3];
        y[i] = truth(PG_FIT_NLOGN, n[i]) * exp(0.1 * gaussian(&state));
    }
    pg_fit_options_t options = options_for(1e7);
    pg_fit_result_t first, second;
    PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &first), PG_OK);
    PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &second), PG_OK);
    PG_CHECK(memcmp(&first, &second, sizeof first) == 0);
    options.bootstrap = 0;
    PG_CHECK_RC(pg_fit_series(n, y, 15, &options, &second), PG_OK);
    PG_CHECK(second.low == second.forecast && second.high == second.forecast);
    PG_CHECK(second.confidence == 0.0);
}

static void test_bad_input(void)
{
    double n[3] = {10, 100, 1000}, y[3] = {1, 2, 3};
    pg_fit_options_t options = options_for(1e4);
    pg_fit_result_t result;
    PG_CHECK_RC(pg_fit_series(n, y, 0, &options, &result), PG_ERR_ARG);
    PG_CHECK_RC(pg_fit_series(NULL, y, 3, &options, &result), PG_ERR_ARG);
    double bad_n[3] = {0.5, 100, 1000}, bad_y[3] = {1, -2, 3}, nan_y[3] = {1, NAN, 3};
    PG_CHECK_RC(pg_fit_series(bad_n, y, 3, &options, &result), PG_ERR_ARG);
    PG_CHECK_RC(pg_fit_series(n, bad_y, 3, &options, &result), PG_ERR_ARG);
    PG_CHECK_RC(pg_fit_series(n, nan_y, 3, &options, &result), PG_ERR_ARG);
    options.target = 0.5;
    PG_CHECK_RC(pg_fit_series(n, y, 3, &options, &result), PG_ERR_ARG);
    options = options_for(1e4);
    options.level = 1.0;
    PG_CHECK_RC(pg_fit_series(n, y, 3, &options, &result), PG_ERR_ARG);
    options = options_for(1e4);
    options.min_noise = -1.0;
    PG_CHECK_RC(pg_fit_series(n, y, 3, &options, &result), PG_ERR_ARG);
    options = options_for(1e4);
    options.bootstrap = PG_FIT_MAX_BOOTSTRAP + 1;
    PG_CHECK_RC(pg_fit_series(n, y, 3, &options, &result), PG_ERR_LIMIT);
    options = options_for(1e4);
    double many_n[PG_FIT_MAX_SIZES + 1], many_y[PG_FIT_MAX_SIZES + 1];
    for (int i = 0; i <= PG_FIT_MAX_SIZES; i++) {
        many_n[i] = 1 + i;
        many_y[i] = 3.0 + 2.0 * many_n[i];
    }
    PG_CHECK_RC(pg_fit_series(many_n, many_y, PG_FIT_MAX_SIZES + 1, &options, &result),
                PG_ERR_LIMIT);
    PG_CHECK_RC(pg_fit_series(many_n, many_y, PG_FIT_MAX_SIZES, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_LINEAR);
    double zeros[3] = {0, 0, 0};
    PG_CHECK_RC(pg_fit_series(n, zeros, 3, &options, &result), PG_OK);
    PG_CHECK(result.chosen == PG_FIT_CONSTANT);
    PG_CHECK(result.forecast == 0.0 && result.high == 0.0);
}

int main(void)
{
    test_exact_series();
    test_counts();
    test_noisy_series();
    test_outlier_repeat();
    test_interval_width();
    test_minimum_location();
    test_few_sizes();
    test_deterministic();
    test_bad_input();
    puts("fit: ok");
    return 0;
}
