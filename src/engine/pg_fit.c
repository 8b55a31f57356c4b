#include "pg_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

/* Selection margin: a simpler class wins when its cross-validated error is
 * at most best x (1 + SELECT_RELATIVE) + SELECT_ABSOLUTE. The absolute part
 * keeps differences below half a percent from counting as evidence. */
#define SELECT_RELATIVE 0.25
#define SELECT_ABSOLUTE 0.005
/* The power law is chosen only when its error times this is below the
 * chosen fixed class's. */
#define POWER_FACTOR 2.0
/* The least noise assumed for a size's median when weighing sizes. */
#define LEAST_NOISE 0.005

/* One series grouped by size, sizes ascending. Owned by one pg_fit_series
 * call (heap: it is too large for some thread stacks). */
typedef struct fit_work {
    uint32_t sizes;                                   /* distinct sizes */
    double n[PG_FIT_MAX_SIZES];                       /* the sizes, ascending */
    uint32_t start[PG_FIT_MAX_SIZES + 1];             /* group s is values[start[s]..start[s+1]) */
    double values[PG_FIT_MAX_POINTS];                 /* sorted within each group */
    double median[PG_FIT_MAX_SIZES];                  /* each group's location: its median,
                                                         or its minimum (options) */
    pg_fit_location_t location;                       /* which of the two */
    double g[PG_FIT_CLASS_COUNT][PG_FIT_MAX_SIZES];   /* f(n) / f(n_max) per fixed class */
    double g_target[PG_FIT_CLASS_COUNT];              /* f(target) / f(n_max) */
    double scale[PG_FIT_CLASS_COUNT];                 /* f(n_max): b (scaled) / scale = b */
    double floor;                                     /* noise floor, > 0 */
    double extrapolation; /* log sd of the model error at the target (see extrapolation_error) */
    double median_noise; /* RMS log noise of a size's median, from the repeats (0 without),
                            precision-weighted: differences in error below it are not
                            evidence */
    double precision[PG_FIT_MAX_SIZES]; /* 1 / (noise of the size's median^2 + least^2):
                                           precise sizes count more (1 without repeats) */
    double noise[PG_FIT_MAX_POINTS];                  /* log deviations to draw from */
    uint32_t noise_count;
    double sample[PG_FIT_MAX_POINTS];                 /* a bootstrap group's values */
} fit_work_t;

/* A pair (size, value) for sorting the input. */
typedef struct fit_point {
    double n;
    double y;
} fit_point_t;

static int compare_points(const void *left, const void *right)
{
    const fit_point_t *a = left, *b = right;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return (a->y > b->y) - (a->y < b->y);
}

static int compare_doubles(const void *left, const void *right)
{
    double a = *(const double *)left, b = *(const double *)right;
    return (a > b) - (a < b);
}

const char *pg_fit_class_name(int class_)
{
    static const char *const names[PG_FIT_CLASS_COUNT] = {
        "O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^3)", "O(n^k)",
    };
    if (class_ < 0 || class_ >= PG_FIT_CLASS_COUNT)
        return "none";
    return names[class_];
}

/* f(n) of a fixed class. */
static double growth(pg_fit_class_t class_, double n)
{
    switch (class_) {
    case PG_FIT_LOG: return log(n);
    case PG_FIT_LINEAR: return n;
    case PG_FIT_NLOGN: return n * log(n);
    case PG_FIT_QUADRATIC: return n * n;
    case PG_FIT_CUBIC: return n * n * n;
    default: return 1.0;
    }
}

double pg_fit_eval(pg_fit_class_t class_, const pg_fit_model_t *model, double n)
{
    if (class_ < 0 || class_ >= PG_FIT_CLASS_COUNT)
        return 0.0;
    if (class_ == PG_FIT_POWER)
        return model->a * pow(n, model->b);
    return model->a + model->b * growth(class_, n);
}

/* splitmix64: a small, well-mixed generator; the state is the caller's. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform index in [0, bound), bound > 0. */
static uint32_t random_below(uint64_t *state, uint32_t bound)
{
    return (uint32_t)(((next_random(state) >> 11) * 0x1.0p-53) * bound);
}

/* A standard normal draw (Box-Muller). */
static double random_normal(uint64_t *state)
{
    double u1 = ((next_random(state) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
    double u2 = (next_random(state) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double log_error(double value, double prediction, double floor)
{
    if (!(prediction > 0.0))
        prediction = 0.0;
    return log((value + floor) / (prediction + floor));
}

/* Fit class_ on the sizes of work other than skip (PG_FIT_MAX_SIZES: none)
 * to the locations m; constant = 0 forces a = 0 (the two-size case). The
 * model is in scaled form: y = a + b g (power law: log y = log a + b ln n). */
static pg_fit_model_t fit_one(const fit_work_t *work, pg_fit_class_t class_, const double *m,
                              uint32_t skip, int constant)
{
    double s = 0, sg = 0, sgg = 0, sy = 0, sgy = 0;
    pg_fit_model_t model = {0.0, 0.0, INFINITY};
    for (uint32_t i = 0; i < work->sizes; i++) {
        if (i == skip)
            continue;
        if (class_ == PG_FIT_POWER) { /* unweighted, in log-log space */
            double x = log(work->n[i]), z = log(m[i] > work->floor ? m[i] : work->floor);
            double p = work->precision[i];
            s += p, sg += p * x, sgg += p * x * x, sy += p * z, sgy += p * x * z;
            continue;
        }
        double w = work->precision[i] / ((m[i] + work->floor) * (m[i] + work->floor));
        double g = work->g[class_][i];
        s += w, sg += w * g, sgg += w * g * g, sy += w * m[i], sgy += w * g * m[i];
    }
    if (s <= 0)
        return model;
    if (class_ == PG_FIT_POWER) {
        double det = s * sgg - sg * sg;
        double k = det > 0 ? (s * sgy - sg * sy) / det : 0.0;
        if (!(k > 0))
            k = 0.0;
        model.a = exp((sy - k * sg) / s);
        model.b = k;
        return model;
    }
    if (class_ == PG_FIT_CONSTANT) {
        model.a = sy / s;
        return model;
    }
    if (!constant) {
        model.b = sgg > 0 ? sgy / sgg : 0.0;
        return model;
    }
    double det = s * sgg - sg * sg;
    double b = det > 1e-12 * s * sgg ? (s * sgy - sg * sy) / det : -1.0;
    double a = b >= 0 ? (sy - b * sg) / s : 0.0;
    if (b < 0) { /* no growth fits better: the constant alone */
        model.a = sy / s;
    } else if (a < 0) { /* a negative start-up cost is not physical: through zero */
        model.b = sgg > 0 ? sgy / sgg : 0.0;
    } else {
        model.a = a;
        model.b = b;
    }
    return model;
}

/* Scaled model at size index i (or at the target when i == PG_FIT_MAX_SIZES). */
static double eval_scaled(const fit_work_t *work, pg_fit_class_t class_,
                          const pg_fit_model_t *model, uint32_t i)
{
    double n = i < work->sizes ? work->n[i] : 0.0;
    if (class_ == PG_FIT_POWER)
        return i < work->sizes ? model->a * pow(n, model->b) : NAN;
    double g = i < work->sizes ? work->g[class_][i] : work->g_target[class_];
    return model->a + model->b * g;
}

static double eval_target(const fit_work_t *work, pg_fit_class_t class_,
                          const pg_fit_model_t *model, double target)
{
    if (class_ == PG_FIT_POWER)
        return model->a * pow(target, model->b);
    return eval_scaled(work, class_, model, PG_FIT_MAX_SIZES);
}

/* Cross-validated error of class_ on locations m: leave each size out with
 * three or more sizes; with two, the one-parameter model's own error (the
 * power law, exact on two points, gets INFINITY). */
static double cv_error(const fit_work_t *work, pg_fit_class_t class_, const double *m)
{
    double sum = 0.0, weights = 0.0;
    if (work->sizes < 3) {
        if (class_ == PG_FIT_POWER)
            return INFINITY;
        pg_fit_model_t model = fit_one(work, class_, m, PG_FIT_MAX_SIZES, 0);
        for (uint32_t i = 0; i < work->sizes; i++) {
            double e = log_error(m[i], eval_scaled(work, class_, &model, i), work->floor);
            sum += work->precision[i] * e * e;
            weights += work->precision[i];
        }
        return sqrt(sum / weights);
    }
    for (uint32_t skip = 0; skip < work->sizes; skip++) {
        pg_fit_model_t model = fit_one(work, class_, m, skip, 1);
        double e = log_error(m[skip], eval_scaled(work, class_, &model, skip), work->floor);
        sum += work->precision[skip] * e * e;
        weights += work->precision[skip];
    }
    return sqrt(sum / weights);
}

/* The class chosen for locations m; errors[] receives every class's error.
 * The simplest fixed class within the margin of the best fixed one; the
 * free power law only when it is clearly better than that (its exponent
 * can follow noise, and a fixed class is the better story to tell). */
static pg_fit_class_t select_class(const fit_work_t *work, const double *m, double *errors)
{
    double best = INFINITY;
    for (int c = 0; c < PG_FIT_CLASS_COUNT; c++) {
        errors[c] = cv_error(work, (pg_fit_class_t)c, m);
        if (c != PG_FIT_POWER && errors[c] < best)
            best = errors[c];
    }
    double margin = best * (1.0 + SELECT_RELATIVE) + SELECT_ABSOLUTE + work->median_noise;
    pg_fit_class_t chosen = PG_FIT_CONSTANT;
    for (int c = 0; c < PG_FIT_POWER; c++) {
        if (errors[c] <= margin) {
            chosen = (pg_fit_class_t)c;
            break;
        }
    }
    if (errors[PG_FIT_POWER] * POWER_FACTOR + SELECT_ABSOLUTE + work->median_noise < errors[chosen])
        return PG_FIT_POWER;
    return chosen;
}

static double median_of(const double *sorted, uint32_t count)
{
    return count % 2 ? sorted[count / 2] : 0.5 * (sorted[count / 2 - 1] + sorted[count / 2]);
}

/* A group's location: its median or its minimum (sorted ascending). */
static double location_of(const fit_work_t *work, const double *sorted, uint32_t count)
{
    return work->location == PG_FIT_MINIMUM ? sorted[0] : median_of(sorted, count);
}

/* Sort and group the input; medians, floor and scaled growth terms. */
static int prepare(fit_work_t *work, const double *n, const double *y, uint32_t count,
                   const pg_fit_options_t *options)
{
    fit_point_t *points = malloc((size_t)count * sizeof *points);
    if (!points)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < count; i++)
        points[i] = (fit_point_t){n[i], y[i]};
    qsort(points, count, sizeof *points, compare_points);
    work->sizes = 0;
    work->location = options->location;
    for (uint32_t i = 0; i < count; i++) {
        if (i == 0 || points[i].n != points[i - 1].n) {
            if (work->sizes == PG_FIT_MAX_SIZES) {
                free(points);
                return PG_ERR_LIMIT;
            }
            work->n[work->sizes] = points[i].n;
            work->start[work->sizes++] = i;
        }
        work->values[i] = points[i].y;
    }
    work->start[work->sizes] = count;
    free(points);
    double largest = 0.0;
    for (uint32_t s = 0; s < work->sizes; s++) {
        uint32_t k = work->start[s + 1] - work->start[s];
        work->median[s] = location_of(work, work->values + work->start[s], k);
        if (work->median[s] > largest)
            largest = work->median[s];
    }
    work->floor = options->floor > 1e-6 * largest ? options->floor : 1e-6 * largest;
    if (!(work->floor > 0))
        work->floor = 1.0; /* every value is 0: any positive floor will do */
    double n_max = work->n[work->sizes - 1];
    for (int c = 0; c < PG_FIT_POWER; c++) {
        double scale = growth((pg_fit_class_t)c, n_max);
        work->scale[c] = scale > 0 ? scale : 1.0;
        for (uint32_t s = 0; s < work->sizes; s++)
            work->g[c][s] = growth((pg_fit_class_t)c, work->n[s]) / work->scale[c];
        work->g_target[c] = growth((pg_fit_class_t)c, options->target) / work->scale[c];
    }
    return PG_OK;
}

/* The noise pool: with repeats, each value's log deviation from its size's
 * median (inflated by sqrt(k / (k - 1)) for a group of k); without, the
 * centred residuals of the chosen model, inflated for its parameters. */
static void build_noise(fit_work_t *work, const pg_fit_model_t *model, pg_fit_class_t chosen,
                        int repeats)
{
    work->noise_count = 0;
    if (repeats) {
        for (uint32_t s = 0; s < work->sizes; s++) {
            uint32_t k = work->start[s + 1] - work->start[s];
            if (k < 2)
                continue;
            double inflate = sqrt((double)k / (k - 1));
            for (uint32_t i = work->start[s]; i < work->start[s + 1]; i++)
                work->noise[work->noise_count++] =
                    inflate * log_error(work->values[i], work->median[s], work->floor);
        }
        return;
    }
    uint32_t params = chosen == PG_FIT_CONSTANT || work->sizes < 3 ? 1 : 2;
    double mean = 0.0;
    for (uint32_t s = 0; s < work->sizes; s++) {
        double e = log_error(work->median[s], eval_scaled(work, chosen, model, s), work->floor);
        work->noise[work->noise_count++] = e;
        mean += e;
    }
    mean /= work->sizes;
    double inflate =
        work->sizes > params ? sqrt((double)work->sizes / (work->sizes - params)) : 1.0;
    for (uint32_t i = 0; i < work->noise_count; i++)
        work->noise[i] = (work->noise[i] - mean) * inflate;
}

/* One bootstrap replicate's locations into m. */
static void resample(fit_work_t *work, const pg_fit_model_t *model, pg_fit_class_t chosen,
                     int repeats, uint64_t *state, double *m)
{
    for (uint32_t s = 0; s < work->sizes; s++) {
        uint32_t k = work->start[s + 1] - work->start[s];
        if (repeats) {
            const double *group = work->values + work->start[s];
            for (uint32_t i = 0; i < k; i++)
                work->sample[i] = group[random_below(state, k)];
            qsort(work->sample, k, sizeof *work->sample, compare_doubles);
            m[s] = location_of(work, work->sample, k);
        } else {
            double fitted = eval_scaled(work, chosen, model, s);
            double e = work->noise[random_below(state, work->noise_count)];
            m[s] = ((fitted > 0 ? fitted : 0.0) + work->floor) * exp(e) - work->floor;
            if (m[s] < 0)
                m[s] = 0.0;
        }
    }
}

/* Quantile q of sorted values by linear interpolation. */
static double quantile(const double *sorted, uint32_t count, double q)
{
    double position = q * (count - 1);
    uint32_t below = (uint32_t)position;
    if (below + 1 >= count)
        return sorted[count - 1];
    double fraction = position - below;
    return sorted[below] * (1 - fraction) + sorted[below + 1] * fraction;
}

static int bootstrap(fit_work_t *work, const pg_fit_options_t *options, pg_fit_result_t *result,
                     const pg_fit_model_t *chosen_model, int repeats)
{
    uint32_t count = options->bootstrap;
    double *forecasts = malloc((size_t)count * sizeof *forecasts);
    if (!forecasts)
        return PG_ERR_NOMEM;
    uint64_t state = options->seed;
    uint32_t agree = 0;
    double m[PG_FIT_MAX_SIZES], errors[PG_FIT_CLASS_COUNT];
    int with_constant = work->sizes >= 3;
    for (uint32_t r = 0; r < count; r++) {
        resample(work, chosen_model, result->chosen, repeats, &state, m);
        pg_fit_class_t class_ = select_class(work, m, errors);
        agree += class_ == result->chosen;
        pg_fit_model_t model = fit_one(work, class_, m, PG_FIT_MAX_SIZES, with_constant);
        double value = eval_target(work, class_, &model, options->target);
        double e = work->noise_count ? work->noise[random_below(&state, work->noise_count)] : 0.0;
        e += sqrt(work->extrapolation * work->extrapolation +
                  options->min_noise * options->min_noise) * random_normal(&state);
        value = ((value > 0 ? value : 0.0) + work->floor) * exp(e) - work->floor;
        forecasts[r] = value > 0 ? value : 0.0;
    }
    qsort(forecasts, count, sizeof *forecasts, compare_doubles);
    double tail = (1.0 - options->level) / 2.0;
    result->low = quantile(forecasts, count, tail);
    result->high = quantile(forecasts, count, 1.0 - tail);
    if (result->low > result->forecast)
        result->low = result->forecast;
    if (result->high < result->forecast)
        result->high = result->forecast;
    result->confidence = (double)agree / count;
    free(forecasts);
    return PG_OK;
}

static int check_input(const double *n, const double *y, uint32_t count,
                       const pg_fit_options_t *options)
{
    if (!n || !y || !options || count == 0)
        return PG_ERR_ARG;
    if (count > PG_FIT_MAX_POINTS || options->bootstrap > PG_FIT_MAX_BOOTSTRAP)
        return PG_ERR_LIMIT;
    if (!(options->target >= 1.0) || !isfinite(options->target) ||
        !(options->floor >= 0.0) || !isfinite(options->floor) ||
        !(options->min_noise >= 0.0) || !isfinite(options->min_noise) ||
        !(options->level > 0.0 && options->level < 1.0) ||
        (options->location != PG_FIT_MEDIAN && options->location != PG_FIT_MINIMUM))
        return PG_ERR_ARG;
    for (uint32_t i = 0; i < count; i++)
        if (!(n[i] >= 1.0) || !isfinite(n[i]) || !(y[i] >= 0.0) || !isfinite(y[i]))
            return PG_ERR_ARG;
    return PG_OK;
}

/* Precision weights from the repeats: each size's median has noise
 * sd / sqrt(k) (sd from its own k values, never below least), and is
 * weighed by its inverse square, so a run at a small size disturbed by a
 * busy machine does not outvote the precise large sizes. Without repeats
 * every size weighs 1 and there is no noise margin. */
static void weigh_sizes(fit_work_t *work, int repeats, double least)
{
    work->median_noise = 0.0;
    for (uint32_t s = 0; s < work->sizes; s++)
        work->precision[s] = 1.0;
    if (!repeats)
        return;
    if (least < LEAST_NOISE)
        least = LEAST_NOISE;
    double weighted = 0.0, weights = 0.0;
    for (uint32_t s = 0; s < work->sizes; s++) {
        uint32_t k = work->start[s + 1] - work->start[s];
        double sum = 0.0;
        for (uint32_t i = work->start[s]; i < work->start[s + 1]; i++) {
            double e = log_error(work->values[i], work->median[s], work->floor);
            sum += e * e;
        }
        double variance = k > 1 ? sum / (k - 1) / k : 0.0; /* of the median, roughly */
        variance += least * least;
        work->precision[s] = 1.0 / variance;
        weighted += variance * work->precision[s];
        weights += work->precision[s];
    }
    work->median_noise = sqrt(weighted / weights);
}

/* The model error to expect at the target: the chosen class's error when
 * it predicted the largest size from the smaller ones (its own error on
 * the two points with two sizes; never below its cross-validated error),
 * less the repeats' own noise (which does not compound), grown in
 * proportion to how much further the target lies than that step, in log n. Noise alone does not cover a 100x extrapolation: a small
 * misfit of the growth compounds with distance. */
static double extrapolation_error(const fit_work_t *work, pg_fit_class_t chosen, double target)
{
    uint32_t last = work->sizes - 1;
    double step = log(work->n[last] / work->n[last - 1]);
    double distance = log(target / work->n[last]);
    if (!(distance > 0) || !(step > 0))
        return 0.0;
    double error = cv_error(work, chosen, work->median);
    if (work->sizes >= 3) {
        pg_fit_model_t model = fit_one(work, chosen, work->median, last, 1);
        double e = fabs(log_error(work->median[last], eval_scaled(work, chosen, &model, last),
                                  work->floor));
        if (e > error)
            error = e;
    }
    /* Only the part beyond the repeats' noise is misfit that compounds. */
    double misfit = error * error - work->median_noise * work->median_noise;
    return misfit > 0 ? sqrt(misfit) * distance / step : 0.0;
}

static double rms(const double *values, uint32_t count)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < count; i++)
        sum += values[i] * values[i];
    return count ? sqrt(sum / count) : 0.0;
}

/* Every class fitted on all sizes, in unscaled form, with its error. */
static void fill_models(const fit_work_t *work, pg_fit_result_t *result, const double *errors)
{
    int with_constant = work->sizes >= 3;
    for (int c = 0; c < PG_FIT_CLASS_COUNT; c++) {
        pg_fit_model_t model = fit_one(work, (pg_fit_class_t)c, work->median, PG_FIT_MAX_SIZES,
                                       with_constant || c == PG_FIT_POWER);
        if (c != PG_FIT_POWER)
            model.b /= work->scale[c];
        model.cv_error = errors[c];
        result->models[c] = model;
    }
}

int pg_fit_series(const double *n, const double *y, uint32_t count,
                  const pg_fit_options_t *options, pg_fit_result_t *result)
{
    int rc = check_input(n, y, count, options);
    if (rc < 0)
        return rc;
    fit_work_t *work = malloc(sizeof *work);
    if (!work)
        return PG_ERR_NOMEM;
    if ((rc = prepare(work, n, y, count, options)) < 0)
        goto done;
    memset(result, 0, sizeof *result);
    result->sizes = work->sizes;
    int repeats = count > work->sizes;
    work->extrapolation = 0.0;
    weigh_sizes(work, repeats, options->min_noise);
    double errors[PG_FIT_CLASS_COUNT];
    for (int c = 0; c < PG_FIT_CLASS_COUNT; c++)
        errors[c] = INFINITY;
    if (work->sizes < 2) {
        result->chosen = PG_FIT_NONE;
        result->forecast = result->low = result->high = work->median[0];
        for (int c = 0; c < PG_FIT_CLASS_COUNT; c++)
            result->models[c].cv_error = INFINITY;
        build_noise(work, NULL, PG_FIT_NONE, 1);
    } else {
        result->chosen = select_class(work, work->median, errors);
        pg_fit_model_t model = fit_one(work, result->chosen, work->median, PG_FIT_MAX_SIZES,
                                       work->sizes >= 3);
        double value = eval_target(work, result->chosen, &model, options->target);
        result->forecast = result->low = result->high = value > 0 ? value : 0.0;
        /* A resampled minimum jumps with every disturbed run, and one
         * descheduling is a small part of a long run at the target: with
         * the minimum as location, the bootstrap and the forecast's noise
         * use the residuals of the minima, not the repeats' spread. */
        int resample_repeats = repeats && work->location == PG_FIT_MEDIAN;
        build_noise(work, &model, result->chosen, resample_repeats);
        work->extrapolation = extrapolation_error(work, result->chosen, options->target);
        if (options->bootstrap > 0 &&
            (rc = bootstrap(work, options, result, &model, resample_repeats)) < 0)
            goto done;
        fill_models(work, result, errors);
    }
    result->noise = rms(work->noise, work->noise_count);
    rc = PG_OK;
done:
    free(work);
    return rc;
}
