/* pipegauge._core.fit(): the engine's complexity fit (src/engine/pg_fit.h)
 * for one series, as a dict. */
#include "pg_binding.h"
#include "pg_error.h"
#include "pg_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copy a sequence of numbers into an owned array (*out, free() it);
 * -1 with an exception set on failure. */
static int doubles_from_sequence(PyObject *sequence, const char *what, double **out,
                                 Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(sequence, what);
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    double *array = malloc((size_t)(n > 0 ? n : 1) * sizeof *array);
    if (!array) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        array[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (array[i] == -1.0 && PyErr_Occurred()) {
            free(array);
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    *out = array;
    *count = n;
    return 0;
}

/* A float, or None for an error that was not computed (INFINITY). */
static PyObject *error_value(double error)
{
    if (isinf(error))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(error);
}

static PyObject *result_dict(const pg_fit_result_t *result)
{
    PyObject *models = PyList_New(PG_FIT_CLASS_COUNT);
    if (!models)
        return NULL;
    for (int c = 0; c < PG_FIT_CLASS_COUNT; c++) {
        const pg_fit_model_t *m = &result->models[c];
        PyObject *item = Py_BuildValue("{sssdsdsN}", "class", pg_fit_class_name(c), "a", m->a,
                                       "b", m->b, "cv_error", error_value(m->cv_error));
        if (!item) {
            Py_DECREF(models);
            return NULL;
        }
        PyList_SET_ITEM(models, c, item);
    }
    return Py_BuildValue("{sssisdsdsdsdsdsIsN}", "class", pg_fit_class_name(result->chosen),
                         "class_index", (int)result->chosen, "confidence", result->confidence,
                         "forecast", result->forecast, "low", result->low, "high", result->high,
                         "noise", result->noise, "sizes", result->sizes, "models", models);
}

PyObject *pg_core_fit(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"sizes", "values", "target", "floor", "min_noise",
                               "bootstrap", "seed", "level", "location", NULL};
    PyObject *sizes_object, *values_object;
    pg_fit_options_t options = {.floor = 0.0, .min_noise = 0.0, .bootstrap = 200, .seed = 0,
                                .level = 0.9};
    unsigned int bootstrap = 200;
    unsigned long long seed = 0;
    const char *location = "median";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOd|$ddIKds:fit", keywords, &sizes_object,
                                     &values_object, &options.target, &options.floor,
                                     &options.min_noise, &bootstrap, &seed, &options.level,
                                     &location))
        return NULL;
    if (strcmp(location, "median") == 0) {
        options.location = PG_FIT_MEDIAN;
    } else if (strcmp(location, "minimum") == 0) {
        options.location = PG_FIT_MINIMUM;
    } else {
        PyErr_SetString(PyExc_ValueError, "fit: location must be 'median' or 'minimum'");
        return NULL;
    }
    options.bootstrap = bootstrap;
    options.seed = seed;
    double *sizes = NULL, *values = NULL;
    Py_ssize_t size_count = 0, value_count = 0;
    PyObject *out = NULL;
    if (doubles_from_sequence(sizes_object, "sizes must be a sequence of numbers", &sizes,
                              &size_count) < 0 ||
        doubles_from_sequence(values_object, "values must be a sequence of numbers", &values,
                              &value_count) < 0)
        goto done;
    if (size_count != value_count || size_count == 0) {
        PyErr_SetString(PyExc_ValueError,
                        "fit: sizes and values must be non-empty and of equal length");
        goto done;
    }
    if (size_count > PG_FIT_MAX_POINTS) {
        PyErr_Format(PyExc_ValueError, "fit: at most %d points", PG_FIT_MAX_POINTS);
        goto done;
    }
    pg_fit_result_t result;
    int rc = pg_fit_series(sizes, values, (uint32_t)size_count, &options, &result);
    if (rc == PG_ERR_ARG) {
        PyErr_SetString(PyExc_ValueError,
                        "fit: sizes must be >= 1, values >= 0 and finite, target >= 1, "
                        "0 < level < 1, floor >= 0, min_noise >= 0");
        goto done;
    }
    if (rc == PG_ERR_LIMIT) {
        PyErr_Format(PyExc_ValueError, "fit: at most %d distinct sizes and %d bootstrap replicates",
                     PG_FIT_MAX_SIZES, PG_FIT_MAX_BOOTSTRAP);
        goto done;
    }
    if (rc < 0) {
        pg_raise(rc, NULL);
        goto done;
    }
    out = result_dict(&result);
done:
    free(sizes);
    free(values);
    return out;
}
