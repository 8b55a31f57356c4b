/* _core statistics for run comparison (engine: pg_stats.c): latency samples
 * as bytes, the rank test on pooled samples, quantiles, the bootstrap
 * interval of a ratio of means, and Benjamini-Hochberg. See _core.pyi. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pg_binding.h"
#include "pg_error.h"
#include "pg_stats.h"

PyObject *pg_sample_bytes(const pg_hist_t *hist, double ns_per_unit, double scale)
{
    pg_stats_sample_t sample;
    pg_stats_sample_init(&sample);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = pg_stats_sample_from_hist(&sample, hist, ns_per_unit, scale);
    if (rc == PG_OK)
        rc = pg_stats_sample_encode(&sample, &data, &size);
    pg_stats_sample_release(&sample);
    if (rc < 0)
        return pg_raise(rc, NULL);
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)size);
    free(data);
    return bytes;
}

/* Decode one encoded sample and add it to *pooled, its observations divided
 * by divisor (1.0: as recorded). 0 or -1 with an exception. */
static int pool_one(PyObject *item, double divisor, pg_stats_sample_t *pooled)
{
    char *data;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(item, &data, &size) < 0)
        return -1;
    pg_stats_sample_t one;
    pg_stats_sample_init(&one);
    int rc = pg_stats_sample_decode(divisor == 1.0 ? pooled : &one, (const uint8_t *)data,
                                    (size_t)size);
    if (rc == PG_OK && divisor != 1.0)
        rc = pg_stats_sample_merge_scaled(pooled, &one, 1.0 / divisor);
    pg_stats_sample_release(&one);
    if (rc == PG_ERR_CORRUPT) {
        PyErr_SetString(PyExc_ValueError, "corrupt latency sample");
        return -1;
    }
    if (rc == PG_ERR_ARG) {
        PyErr_SetString(PyExc_ValueError, "speeds must be positive and finite");
        return -1;
    }
    return rc < 0 ? (pg_raise(rc, NULL), -1) : 0;
}

/* Pool a sequence of encoded samples into *pooled (initialised); speeds,
 * when not NULL/None, a sequence of as many positive numbers: each sample's
 * observations are divided by its own. */
static int pool_samples_at(PyObject *sequence, PyObject *speeds, pg_stats_sample_t *pooled)
{
    PyObject *fast = PySequence_Fast(sequence, "expected a sequence of bytes");
    if (!fast)
        return -1;
    PyObject *divisors = NULL;
    if (speeds && speeds != Py_None) {
        divisors = PySequence_Fast(speeds, "speeds must be a sequence of floats");
        if (!divisors || PySequence_Fast_GET_SIZE(divisors) != PySequence_Fast_GET_SIZE(fast)) {
            if (divisors)
                PyErr_SetString(PyExc_ValueError, "one speed per sample");
            Py_XDECREF(divisors);
            Py_DECREF(fast);
            return -1;
        }
    }
    int status = 0;
    for (Py_ssize_t i = 0; status == 0 && i < PySequence_Fast_GET_SIZE(fast); i++) {
        double divisor = 1.0;
        if (divisors) {
            divisor = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(divisors, i));
            if (divisor == -1.0 && PyErr_Occurred()) {
                status = -1;
                break;
            }
            if (!isfinite(divisor) || !(divisor > 0.0)) {
                PyErr_SetString(PyExc_ValueError, "speeds must be positive and finite");
                status = -1;
                break;
            }
        }
        status = pool_one(PySequence_Fast_GET_ITEM(fast, i), divisor, pooled);
    }
    Py_XDECREF(divisors);
    Py_DECREF(fast);
    return status;
}

static int pool_samples(PyObject *sequence, pg_stats_sample_t *pooled)
{
    return pool_samples_at(sequence, NULL, pooled);
}

PyObject *pg_core_rank_test(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *base, *current, *base_speeds = Py_None, *current_speeds = Py_None;
    if (!PyArg_ParseTuple(args, "OO|OO:rank_test", &base, &current, &base_speeds, &current_speeds))
        return NULL;
    pg_stats_sample_t a, b;
    pg_stats_sample_init(&a);
    pg_stats_sample_init(&b);
    PyObject *result = NULL;
    if (pool_samples_at(base, base_speeds, &a) == 0 &&
        pool_samples_at(current, current_speeds, &b) == 0) {
        pg_rank_test_t test;
        pg_stats_rank_test(&a, &b, &test);
        result = Py_BuildValue("{sKsKsdsdsdsd}", "n_base", (unsigned long long)test.n_a,
                               "n_current", (unsigned long long)test.n_b, "u", test.u_b, "z",
                               test.z, "p_value", test.p_value, "effect", test.effect);
    }
    pg_stats_sample_release(&a);
    pg_stats_sample_release(&b);
    return result;
}

PyObject *pg_core_merge_samples(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *samples;
    if (!PyArg_ParseTuple(args, "O:merge_samples", &samples))
        return NULL;
    pg_stats_sample_t pooled;
    pg_stats_sample_init(&pooled);
    PyObject *result = NULL;
    if (pool_samples(samples, &pooled) == 0) {
        uint8_t *data = NULL;
        size_t size = 0;
        int rc = pg_stats_sample_encode(&pooled, &data, &size);
        if (rc < 0)
            pg_raise(rc, NULL);
        else
            result = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)size);
        free(data);
    }
    pg_stats_sample_release(&pooled);
    return result;
}

PyObject *pg_core_sample_quantiles(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *samples, *qs;
    if (!PyArg_ParseTuple(args, "OO:sample_quantiles", &samples, &qs))
        return NULL;
    pg_stats_sample_t pooled;
    pg_stats_sample_init(&pooled);
    PyObject *fast = NULL, *out = NULL;
    if (pool_samples(samples, &pooled) == 0 &&
        (fast = PySequence_Fast(qs, "qs must be a sequence of floats"))) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
        out = PyList_New(n);
        for (Py_ssize_t i = 0; out && i < n; i++) {
            double q = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
            PyObject *value = (q == -1.0 && PyErr_Occurred())
                                  ? NULL
                                  : PyFloat_FromDouble(pg_stats_sample_quantile(&pooled, q));
            if (!value) {
                Py_CLEAR(out);
                break;
            }
            PyList_SET_ITEM(out, i, value);
        }
    }
    Py_XDECREF(fast);
    pg_stats_sample_release(&pooled);
    return out;
}

/* Copy a sequence of numbers into a new malloc'ed array (may be empty). */
static double *doubles_from(PyObject *sequence, size_t *count)
{
    PyObject *fast = PySequence_Fast(sequence, "expected a sequence of floats");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    double *values = malloc(((size_t)n + 1) * sizeof *values);
    if (!values) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        values[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (values[i] == -1.0 && PyErr_Occurred()) {
            free(values);
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_DECREF(fast);
    *count = (size_t)n;
    return values;
}

PyObject *pg_core_bootstrap_ratio(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"base", "current", "center", "resamples", "confidence", "seed", NULL};
    PyObject *base_object, *current_object;
    const char *center_name = "mean";
    unsigned int resamples = 2000;
    double confidence = 0.95;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|$sIdK:bootstrap_ratio", keywords,
                                     &base_object, &current_object, &center_name, &resamples,
                                     &confidence, &seed))
        return NULL;
    pg_stats_center_t center;
    if (strcmp(center_name, "mean") == 0)
        center = PG_STATS_MEAN;
    else if (strcmp(center_name, "median") == 0)
        center = PG_STATS_MEDIAN;
    else {
        PyErr_SetString(PyExc_ValueError, "center must be 'mean' or 'median'");
        return NULL;
    }
    size_t n_a = 0, n_b = 0;
    double *a = doubles_from(base_object, &n_a);
    double *b = a ? doubles_from(current_object, &n_b) : NULL;
    PyObject *result = NULL;
    if (b) {
        pg_interval_t interval;
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = pg_stats_bootstrap_ratio(a, n_a, b, n_b, center, resamples, confidence, seed,
                                      &interval);
        Py_END_ALLOW_THREADS
        if (rc == PG_ERR_ARG)
            PyErr_SetString(PyExc_ValueError,
                            "bootstrap_ratio needs values on both sides, a positive base center, "
                            "resamples > 0 and 0 < confidence < 1");
        else if (rc < 0)
            pg_raise(rc, NULL);
        else
            result = Py_BuildValue("(ddd)", interval.estimate, interval.low, interval.high);
    }
    free(a);
    free(b);
    return result;
}

PyObject *pg_core_bh_adjust(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *sequence;
    if (!PyArg_ParseTuple(args, "O:bh_adjust", &sequence))
        return NULL;
    size_t n = 0;
    double *values = doubles_from(sequence, &n);
    if (!values)
        return NULL;
    PyObject *out = NULL;
    int rc = pg_stats_bh_adjust(values, n, values);
    if (rc == PG_ERR_ARG)
        PyErr_SetString(PyExc_ValueError, "p-values must lie in [0, 1]");
    else if (rc < 0)
        pg_raise(rc, NULL);
    else
        out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++) {
        PyObject *value = PyFloat_FromDouble(values[i]);
        if (!value) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, value);
    }
    free(values);
    return out;
}
