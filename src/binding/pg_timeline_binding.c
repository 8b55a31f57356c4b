/* Profile.timeline(): the resource timeline as columns of Python ints. */
#include "pg_binding.h"
#include "pg_timeline.h"

/* Offsets of the sample fields, in the order and names of _core.pyi. */
static const struct {
    const char *name;
    size_t offset;
} sample_columns[] = {
    {"t_ns", offsetof(pg_timeline_sample_t, t_ns)},
    {"dt_ns", offsetof(pg_timeline_sample_t, dt_ns)},
    {"rss_bytes", offsetof(pg_timeline_sample_t, rss_bytes)},
    {"threads", offsetof(pg_timeline_sample_t, threads)},
    {"cpu_user_ns", offsetof(pg_timeline_sample_t, cpu_user_ns)},
    {"cpu_system_ns", offsetof(pg_timeline_sample_t, cpu_system_ns)},
    {"read_chars", offsetof(pg_timeline_sample_t, read_chars)},
    {"write_chars", offsetof(pg_timeline_sample_t, write_chars)},
    {"read_bytes", offsetof(pg_timeline_sample_t, read_bytes)},
    {"write_bytes", offsetof(pg_timeline_sample_t, write_bytes)},
};

static const struct {
    const char *name;
    size_t offset;
} gpu_columns[] = {
    {"busy_ns", offsetof(pg_timeline_gpu_t, busy_ns)},
    {"memory_bytes", offsetof(pg_timeline_gpu_t, memory_bytes)},
    {"process_bytes", offsetof(pg_timeline_gpu_t, process_bytes)},
};

/* A list of count u64 read at base + i * stride + offset. */
static PyObject *column(const void *base, size_t stride, size_t offset, uint32_t count)
{
    PyObject *list = PyList_New(count);
    for (uint32_t i = 0; list && i < count; i++) {
        uint64_t value;
        memcpy(&value, (const char *)base + i * stride + offset, sizeof value);
        PyObject *item = PyLong_FromUnsignedLongLong(value);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* Steals value; -1 when value is NULL or cannot be stored. */
static int put(PyObject *dict, const char *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *device_dict(const pg_timeline_t *t, uint32_t d)
{
    PyObject *dict = PyDict_New();
    if (!dict || put(dict, "name", PyUnicode_DecodeUTF8(t->devices[d].name,
                                                       (Py_ssize_t)strlen(t->devices[d].name),
                                                       "replace")) < 0 ||
        put(dict, "memory_total", PyLong_FromUnsignedLongLong(t->devices[d].memory_total)) < 0)
        goto error;
    size_t stride = (size_t)t->gpu_count * sizeof(pg_timeline_gpu_t);
    for (size_t c = 0; c < sizeof gpu_columns / sizeof gpu_columns[0]; c++)
        if (put(dict, gpu_columns[c].name,
                column(t->gpu + d, stride, gpu_columns[c].offset, t->count)) < 0)
            goto error;
    return dict;
error:
    Py_XDECREF(dict);
    return NULL;
}

PyObject *pg_timeline_to_python(const pg_timeline_t *t)
{
    if (!pg_timeline_present(t))
        Py_RETURN_NONE;
    PyObject *gpus = NULL, *dict = PyDict_New();
    if (!dict || put(dict, "interval_ns", PyLong_FromUnsignedLongLong(t->interval_ns)) < 0 ||
        put(dict, "stride", PyLong_FromUnsignedLong(t->stride)) < 0)
        goto error;
    for (size_t c = 0; c < sizeof sample_columns / sizeof sample_columns[0]; c++)
        if (put(dict, sample_columns[c].name,
                column(t->samples, sizeof *t->samples, sample_columns[c].offset, t->count)) < 0)
            goto error;
    if (!(gpus = PyList_New(t->gpu_count)))
        goto error;
    for (uint32_t d = 0; d < t->gpu_count; d++) {
        PyObject *device = device_dict(t, d);
        if (!device)
            goto error;
        PyList_SET_ITEM(gpus, d, device);
    }
    if (put(dict, "gpus", gpus) < 0) {
        gpus = NULL;
        goto error;
    }
    return dict;
error:
    Py_XDECREF(gpus);
    Py_XDECREF(dict);
    return NULL;
}
