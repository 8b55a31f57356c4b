/* Complexity fits: which growth class a measured series follows, and what
 * it will be at a larger size.
 *
 * A series is a set of points (n, y): a size and a value measured at it
 * (a function's time, its calls, bytes, a run's peak memory). Several points
 * may share a size (repeated runs); the fit works on each size's median (or
 * minimum, for wall times on a busy machine, where a disturbance only ever
 * adds time), so one disturbed run does not move it.
 *
 * Models, each with a fitted constant term so a fixed start-up cost does not
 * bend the class:
 *   O(1)        y = a
 *   O(log n)    y = a + b ln n
 *   O(n)        y = a + b n
 *   O(n log n)  y = a + b n ln n
 *   O(n^2)      y = a + b n^2
 *   O(n^3)      y = a + b n^3
 *   power law   y = a n^b        (a log-log regression, b >= 0 free)
 * with a >= 0 and b >= 0. The fixed classes are fitted by weighted least
 * squares on relative error (weights 1 / (y + floor)^2): measurements carry
 * multiplicative noise, and the small sizes must count as much as the large.
 *
 * Selection: leave-one-size-out cross-validation (each size predicted from
 * the others; the error is the root mean square of ln((y + floor) /
 * (prediction + floor))). Among the classes whose error is within a margin
 * of the best one, the simplest wins (the order above; the free power law
 * is last), so weak evidence never picks the steeper or freer model. With
 * two sizes there is nothing to leave out: one-parameter models (a = 0) are
 * compared by their error on the two points, the power law excluded (it
 * fits any two points exactly). One size: no model.
 *
 * Interval and confidence: a seeded bootstrap. With repeats, each size's
 * values are resampled; otherwise the residuals of the chosen model are
 * (inflated for the parameters fitted). Each replicate selects its class
 * again and forecasts at the target, times a noise draw (a resampled
 * deviation, and a normal draw of the extrapolation error and min_noise),
 * so the interval is a prediction interval that includes the doubt about
 * the class and about the growth far beyond the measured sizes. The
 * extrapolation error is the chosen model's error when it predicted the
 * largest size from the smaller ones, grown in proportion to the distance
 * to the target in log n. The confidence is the share of replicates that
 * selected the same class.
 *
 * Everything here is pure computation: no allocation besides one work
 * buffer per call, no global state, deterministic for a given seed.
 */
#ifndef PG_FIT_H
#define PG_FIT_H

#include <stdint.h>

typedef enum pg_fit_class {
    PG_FIT_NONE = -1, /* no model: fewer than two distinct sizes */
    PG_FIT_CONSTANT = 0,
    PG_FIT_LOG,
    PG_FIT_LINEAR,
    PG_FIT_NLOGN,
    PG_FIT_QUADRATIC,
    PG_FIT_CUBIC,
    PG_FIT_POWER,
    PG_FIT_CLASS_COUNT
} pg_fit_class_t;

/* Limits of one series (PG_ERR_LIMIT beyond them). */
#define PG_FIT_MAX_SIZES 64
#define PG_FIT_MAX_POINTS 4096
#define PG_FIT_MAX_BOOTSTRAP 100000

/* Which value of a size's repeats the fit follows. */
typedef enum pg_fit_location {
    PG_FIT_MEDIAN = 0,  /* symmetric noise (counts, bytes) */
    PG_FIT_MINIMUM = 1, /* one-sided noise: wall times, where descheduling only adds */
} pg_fit_location_t;

typedef struct pg_fit_options {
    double target;      /* size to forecast at, >= 1 */
    double floor;       /* absolute noise floor of the values (e.g. a timer's
                           resolution), >= 0; 1e-6 x the largest median is
                           used when larger */
    double min_noise;   /* log sd added to every forecast replicate, >= 0: how well a
                           value reproduces between processes at best (e.g. 0.02 for
                           wall times, 0 for exact counts) */
    uint32_t bootstrap; /* replicates; 0 = no interval (low = high = forecast,
                           confidence 0) */
    uint64_t seed;      /* bootstrap generator seed: same seed, same result */
    pg_fit_location_t location; /* median (0, the default) or minimum of repeats */
    double level;       /* interval coverage, in (0, 1), e.g. 0.9 */
} pg_fit_options_t;

/* One fitted model: y = a + b f(n), or a n^b for the power law. */
typedef struct pg_fit_model {
    double a;        /* constant term (power law: the coefficient) */
    double b;        /* growth coefficient (power law: the exponent) */
    double cv_error; /* cross-validated RMS log error; INFINITY when not computed */
} pg_fit_model_t;

typedef struct pg_fit_result {
    pg_fit_model_t models[PG_FIT_CLASS_COUNT]; /* every class, fitted on all sizes */
    pg_fit_class_t chosen;                     /* PG_FIT_NONE with one size */
    double confidence;                         /* bootstrap share choosing `chosen`, 0..1 */
    double forecast;                           /* chosen model at the target */
    double low, high;                          /* prediction interval at the target */
    double noise;                              /* estimated RMS log noise of one value */
    uint32_t sizes;                            /* distinct sizes seen */
} pg_fit_result_t;

/* Fit the series (n[i], y[i]), i < count, into *result (fully written on
 * success). Sizes must be finite and >= 1, values finite and >= 0.
 * Returns PG_OK, PG_ERR_ARG (a bad value or option), PG_ERR_LIMIT (more than
 * PG_FIT_MAX_SIZES distinct sizes or PG_FIT_MAX_POINTS points) or
 * PG_ERR_NOMEM. With fewer than two distinct sizes the result has chosen =
 * PG_FIT_NONE and forecast = low = high = the location (median or minimum). */
int pg_fit_series(const double *n, const double *y, uint32_t count,
                  const pg_fit_options_t *options, pg_fit_result_t *result);

/* The value of model of class at size n (>= 1); 0 for PG_FIT_NONE. */
double pg_fit_eval(pg_fit_class_t class_, const pg_fit_model_t *model, double n);

/* "O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^3)", "O(n^k)";
 * "none" for PG_FIT_NONE or an unknown value. */
const char *pg_fit_class_name(int class_);

#endif
