/* pipegauge._core.Profile: a pg_profile_t owned by a Python object, with
 * its aggregations built on first use (one per correction setting). */
#include <stdlib.h>
#include <string.h>

#include "pg_aggregate.h"
#include "pg_binding.h"
#include "pg_error.h"
#include "pg_merge.h"

typedef struct pg_pyprofile {
    PyObject_HEAD
    pg_profile_t profile;        /* owned */
    pg_aggregate_t aggregate[2]; /* [correct]: owned, valid when built[] */
    int built[2];
} pg_pyprofile_t;

PyObject *pg_profile_wrap(pg_profile_t *profile)
{
    pg_pyprofile_t *self = PyObject_New(pg_pyprofile_t, &pg_ProfileType);
    if (!self) {
        pg_profile_release(profile);
        return NULL;
    }
    self->profile = *profile;
    memset(profile, 0, sizeof *profile);
    memset(self->aggregate, 0, sizeof self->aggregate);
    self->built[0] = self->built[1] = 0;
    return (PyObject *)self;
}

const pg_profile_t *pg_profile_of(PyObject *object)
{
    if (!PyObject_TypeCheck(object, &pg_ProfileType)) {
        PyErr_SetString(PyExc_TypeError, "expected a pipegauge._core.Profile");
        return NULL;
    }
    return &((pg_pyprofile_t *)object)->profile;
}

static void profile_dealloc(pg_pyprofile_t *self)
{
    pg_aggregate_release(&self->aggregate[0]);
    pg_aggregate_release(&self->aggregate[1]);
    pg_profile_release(&self->profile);
    PyObject_Free(self);
}

static const pg_aggregate_t *aggregate_of(pg_pyprofile_t *self, int correct)
{
    correct = correct != 0;
    if (!self->built[correct]) {
        int rc = pg_aggregate_build(&self->aggregate[correct], &self->profile, correct);
        if (rc < 0) {
            pg_raise(rc, NULL);
            return NULL;
        }
        self->built[correct] = 1;
    }
    return &self->aggregate[correct];
}

static int parse_correct(PyObject *args, PyObject *kwargs, const char *name)
{
    static char *keywords[] = {"correct", NULL};
    int correct = 1;
    char format[32];
    snprintf(format, sizeof format, "|p:%s", name);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, keywords, &correct))
        return -1;
    return correct;
}

static PyObject *profile_read(PyObject *type, PyObject *args)
{
    (void)type;
    PyObject *path_object;
    if (!PyArg_ParseTuple(args, "O&:read", PyUnicode_FSConverter, &path_object))
        return NULL;
    const char *path = PyBytes_AS_STRING(path_object);
    pg_profile_t profile;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    memset(&profile, 0, sizeof profile);
    rc = pg_profile_read(&profile, path);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        pg_raise(rc, path);
        Py_DECREF(path_object);
        return NULL;
    }
    Py_DECREF(path_object);
    return pg_profile_wrap(&profile);
}

static PyObject *profile_write(pg_pyprofile_t *self, PyObject *args)
{
    PyObject *path_object;
    if (!PyArg_ParseTuple(args, "O&:write", PyUnicode_FSConverter, &path_object))
        return NULL;
    const char *path = PyBytes_AS_STRING(path_object);
    int rc = pg_profile_write(&self->profile, path);
    if (rc < 0) {
        pg_raise(rc, path);
        Py_DECREF(path_object);
        return NULL;
    }
    Py_DECREF(path_object);
    Py_RETURN_NONE;
}

static PyObject *profile_set_meta(pg_pyprofile_t *self, PyObject *args)
{
    const char *key, *value;
    if (!PyArg_ParseTuple(args, "ss:set_meta", &key, &value))
        return NULL;
    int rc = pg_profile_meta_set(&self->profile, key, value);
    if (rc < 0)
        return pg_raise(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *profile_get_meta(pg_pyprofile_t *self, void *closure)
{
    (void)closure;
    PyObject *meta = PyDict_New();
    for (uint32_t i = 0; meta && i < self->profile.meta_count; i++) {
        PyObject *value = PyUnicode_DecodeUTF8(self->profile.meta[i].value,
                                               (Py_ssize_t)strlen(self->profile.meta[i].value),
                                               "replace");
        if (!value || PyDict_SetItemString(meta, self->profile.meta[i].key, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(meta);
            break;
        }
        Py_DECREF(value);
    }
    return meta;
}

/* A number stored in metadata by the runtime, or -1 when absent. */
static long long meta_number(const pg_profile_t *profile, const char *key)
{
    const char *text = pg_profile_meta_get(profile, key);
    char *end;
    if (!text || !*text)
        return -1;
    long long value = strtoll(text, &end, 10);
    return *end || value < 0 ? -1 : value;
}

/* Process CPU (cpu_ns, cpu_user_ns, cpu_sys_ns) and peak_rss, when the
 * profile has them. 0 or -1 with an exception set. */
static int add_usage(PyObject *dict, const pg_profile_t *profile)
{
    long long user = meta_number(profile, "cpu_user_ns");
    long long system = meta_number(profile, "cpu_sys_ns");
    long long rss = meta_number(profile, "peak_rss");
    struct {
        const char *key;
        long long value;
    } items[] = {{"cpu_user_ns", user},
                 {"cpu_sys_ns", system},
                 {"cpu_ns", user >= 0 && system >= 0 ? user + system : -1},
                 {"peak_rss", rss}};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (items[i].value < 0)
            continue;
        PyObject *number = PyFloat_FromDouble((double)items[i].value);
        int rc = number ? PyDict_SetItemString(dict, items[i].key, number) : -1;
        Py_XDECREF(number);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static PyObject *profile_get_run(pg_pyprofile_t *self, void *closure)
{
    (void)closure;
    const pg_run_stats_t *run = &self->profile.run;
    PyObject *dict = Py_BuildValue(
        "{sdsdsKsKsKsKsKsKsKsd}", "ns_per_unit", run->ns_per_unit, "event_cost_ns",
        run->event_cost_ns, "events", (unsigned long long)run->events, "start_epoch_ns",
        (unsigned long long)run->start_epoch_ns, "duration_ns",
        (unsigned long long)run->duration_ns, "profiler_memory",
        (unsigned long long)run->profiler_memory, "threads", (unsigned long long)run->threads,
        "lost_events", (unsigned long long)run->lost_events, "unmatched_events",
        (unsigned long long)run->unmatched_events, "overhead_ns",
        run->event_cost_ns * (double)run->events);
    if (dict && add_usage(dict, &self->profile) < 0)
        Py_CLEAR(dict);
    return dict;
}

/* The data changed: aggregations built before are stale. */
static void forget_aggregates(pg_pyprofile_t *self)
{
    for (int i = 0; i < 2; i++) {
        if (self->built[i])
            pg_aggregate_release(&self->aggregate[i]);
        self->built[i] = 0;
    }
}

static PyObject *profile_merge(pg_pyprofile_t *self, PyObject *args)
{
    PyObject *other;
    if (!PyArg_ParseTuple(args, "O!:merge", &pg_ProfileType, &other))
        return NULL;
    forget_aggregates(self);
    int rc = pg_profile_merge(&self->profile, &((pg_pyprofile_t *)other)->profile);
    if (rc < 0)
        return pg_raise(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *profile_add_process(pg_pyprofile_t *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"source", "pid", "parent_pid", "role", "state", NULL};
    PyObject *source;
    unsigned int pid, parent_pid, state;
    const char *role;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!$IIsI:add_process", keywords,
                                     &pg_ProfileType, &source, &pid, &parent_pid, &role, &state))
        return NULL;
    if (state > PG_PROCESS_STATE_MAX) {
        PyErr_Format(PyExc_ValueError, "process state %u unknown", state);
        return NULL;
    }
    pg_process_t process;
    pg_profile_process_summary(&((pg_pyprofile_t *)source)->profile, &process);
    process.pid = pid;
    process.parent_pid = parent_pid;
    process.role = (char *)role; /* borrowed: pg_profile_process_add copies it */
    process.state = state;
    int rc = pg_profile_process_add(&self->profile, &process);
    if (rc < 0)
        return pg_raise(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *profile_get_processes(pg_pyprofile_t *self, void *closure)
{
    (void)closure;
    PyObject *list = PyList_New(0);
    for (uint32_t i = 0; list && i < self->profile.process_count; i++) {
        const pg_process_t *p = &self->profile.processes[i];
        PyObject *item = Py_BuildValue(
            "{sIsIsssIsKsKsKsKsK}", "pid", p->pid, "parent_pid", p->parent_pid, "role", p->role,
            "state", p->state, "start_epoch_ns", (unsigned long long)p->start_epoch_ns,
            "duration_ns", (unsigned long long)p->duration_ns, "events",
            (unsigned long long)p->events, "calls", (unsigned long long)p->calls, "busy_ns",
            (unsigned long long)p->busy_ns);
        if (!item || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(item);
    }
    return list;
}

static PyObject *profile_get_function_count(pg_pyprofile_t *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(self->profile.func_count);
}

static PyObject *profile_get_node_count(pg_pyprofile_t *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(self->profile.node_count);
}

static PyObject *str_at(const pg_profile_t *profile, uint32_t index)
{
    return PyUnicode_DecodeUTF8(pg_strtab_get(&profile->strings, index),
                                (Py_ssize_t)pg_strtab_length(&profile->strings, index), "replace");
}

/* Quantile in ns, scaled by the function's overhead correction. */
static double quantile_ns(const pg_profile_t *profile, const pg_hist_t *hist, double q, double scale)
{
    return pg_hist_quantile(hist, q) * profile->run.ns_per_unit * scale;
}

static PyObject *function_tuple(const pg_profile_t *profile, const pg_aggregate_t *aggregate,
                                uint32_t i)
{
    const pg_func_t *f = &profile->funcs[i];
    const pg_func_stats_t *s = &aggregate->funcs[i];
    const pg_hist_t *h = &f->hist;
    double scale = s->latency_scale;
    double unit = profile->run.ns_per_unit;
    double mean = h->count ? (double)h->sum / (double)h->count * unit * scale : 0.0;
    PyObject *name = str_at(profile, f->name), *file = str_at(profile, f->file);
    PyObject *tuple = NULL;
    if (name && file)
        tuple = Py_BuildValue("(OOIIKKKddKdddddd)", name, file, f->line, f->kind,
                              (unsigned long long)s->calls, (unsigned long long)s->primitive_calls,
                              (unsigned long long)s->exc_exits, s->exclusive_ns, s->inclusive_ns,
                              (unsigned long long)h->count, quantile_ns(profile, h, 0.0, scale),
                              mean, quantile_ns(profile, h, 0.50, scale),
                              quantile_ns(profile, h, 0.95, scale),
                              quantile_ns(profile, h, 0.99, scale),
                              quantile_ns(profile, h, 1.0, scale));
    Py_XDECREF(name);
    Py_XDECREF(file);
    return tuple;
}

static PyObject *profile_functions(pg_pyprofile_t *self, PyObject *args, PyObject *kwargs)
{
    int correct = parse_correct(args, kwargs, "functions");
    const pg_aggregate_t *aggregate = correct < 0 ? NULL : aggregate_of(self, correct);
    if (!aggregate)
        return NULL;
    PyObject *list = PyList_New(self->profile.func_count);
    for (uint32_t i = 0; list && i < self->profile.func_count; i++) {
        PyObject *tuple = function_tuple(&self->profile, aggregate, i);
        if (!tuple) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, tuple);
    }
    return list;
}

static long long index_or_minus_one(uint32_t index)
{
    return index == PG_NONE ? -1 : (long long)index;
}

static PyObject *profile_nodes(pg_pyprofile_t *self, PyObject *args, PyObject *kwargs)
{
    int correct = parse_correct(args, kwargs, "nodes");
    const pg_aggregate_t *aggregate = correct < 0 ? NULL : aggregate_of(self, correct);
    if (!aggregate)
        return NULL;
    PyObject *list = PyList_New(self->profile.node_count);
    for (uint32_t i = 0; list && i < self->profile.node_count; i++) {
        const pg_node_t *n = &self->profile.nodes[i];
        PyObject *tuple = Py_BuildValue(
            "(LLKKddO)", index_or_minus_one(n->parent), index_or_minus_one(n->func),
            (unsigned long long)n->calls, (unsigned long long)n->exc_exits,
            aggregate->node_inclusive_ns[i], aggregate->node_exclusive_ns[i],
            aggregate->node_recursive[i] ? Py_True : Py_False);
        if (!tuple) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, tuple);
    }
    return list;
}

static PyObject *profile_edges(pg_pyprofile_t *self, PyObject *args, PyObject *kwargs)
{
    int correct = parse_correct(args, kwargs, "edges");
    const pg_aggregate_t *aggregate = correct < 0 ? NULL : aggregate_of(self, correct);
    if (!aggregate)
        return NULL;
    PyObject *list = PyList_New(aggregate->edge_count);
    for (uint32_t i = 0; list && i < aggregate->edge_count; i++) {
        const pg_edge_t *e = &aggregate->edges[i];
        PyObject *tuple = Py_BuildValue("(IIKKdd)", e->caller, e->callee,
                                        (unsigned long long)e->calls,
                                        (unsigned long long)e->primitive_calls, e->exclusive_ns,
                                        e->inclusive_ns);
        if (!tuple) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, tuple);
    }
    return list;
}

static PyObject *profile_metrics(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    const pg_profile_t *profile = &self->profile;
    PyObject *list = PyList_New(profile->metric_count);
    for (uint32_t i = 0; list && i < profile->metric_count; i++) {
        const pg_metric_t *m = &profile->metrics[i];
        PyObject *name = str_at(profile, m->name), *unit = str_at(profile, m->unit);
        PyObject *tuple = name && unit ? Py_BuildValue("(OOs)", name, unit,
                                                       m->merge == PG_METRIC_MAX ? "max" : "sum")
                                       : NULL;
        Py_XDECREF(name);
        Py_XDECREF(unit);
        if (!tuple) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, tuple);
    }
    return list;
}

/* The ITHR rows as dicts (keys as in pipegauge._format.ThreadIO). */
static PyObject *profile_thread_io(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    const pg_profile_t *profile = &self->profile;
    PyObject *list = PyList_New(profile->thread_io_count);
    for (uint32_t i = 0; list && i < profile->thread_io_count; i++) {
        const pg_thread_io_t *t = &profile->thread_io[i];
        PyObject *row = Py_BuildValue(
            "{sKsssIsKsKsKsKsKsKsKsKsKsKsKsKsKsK}", "tid", (unsigned long long)t->tid, "name", t->name,
            "flags", (unsigned int)t->flags, "rchar", (unsigned long long)t->rchar, "wchar",
            (unsigned long long)t->wchar, "syscr", (unsigned long long)t->syscr, "syscw",
            (unsigned long long)t->syscw, "read_bytes", (unsigned long long)t->read_bytes,
            "write_bytes", (unsigned long long)t->write_bytes, "hooked_read_bytes",
            (unsigned long long)t->hooked_read_bytes, "hooked_write_bytes",
            (unsigned long long)t->hooked_write_bytes, "hooked_read_ops",
            (unsigned long long)t->hooked_read_ops, "hooked_write_ops",
            (unsigned long long)t->hooked_write_ops, "hooked_recv_bytes",
            (unsigned long long)t->hooked_recv_bytes, "hooked_send_bytes",
            (unsigned long long)t->hooked_send_bytes, "hooked_recv_ops",
            (unsigned long long)t->hooked_recv_ops, "hooked_send_ops",
            (unsigned long long)t->hooked_send_ops);
        if (!row) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, row);
    }
    return list;
}

/* (exclusive, inclusive) pairs from two parallel arrays. */
static PyObject *value_pairs(const uint64_t *exclusive, const uint64_t *inclusive, uint32_t count)
{
    PyObject *list = PyList_New(count);
    for (uint32_t i = 0; list && i < count; i++) {
        PyObject *tuple = Py_BuildValue("(KK)", (unsigned long long)exclusive[i],
                                        (unsigned long long)inclusive[i]);
        if (!tuple) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, tuple);
    }
    return list;
}

/* The metric index argument; metric values do not depend on the overhead
 * correction, so either aggregate serves. */
static const pg_aggregate_t *metric_arg(pg_pyprofile_t *self, PyObject *args, const char *format,
                                        unsigned int *metric)
{
    if (!PyArg_ParseTuple(args, format, metric))
        return NULL;
    if (*metric >= self->profile.metric_count) {
        PyErr_SetString(PyExc_IndexError, "metric index out of range");
        return NULL;
    }
    return aggregate_of(self, self->built[0] ? 0 : 1);
}

static PyObject *profile_function_metric(pg_pyprofile_t *self, PyObject *args)
{
    unsigned int metric;
    const pg_aggregate_t *a = metric_arg(self, args, "I:function_metric", &metric);
    if (!a)
        return NULL;
    size_t at = (size_t)metric * a->func_count;
    return value_pairs(a->func_metric_exclusive + at, a->func_metric_inclusive + at, a->func_count);
}

static PyObject *profile_node_metric(pg_pyprofile_t *self, PyObject *args)
{
    unsigned int metric;
    const pg_aggregate_t *a = metric_arg(self, args, "I:node_metric", &metric);
    if (!a)
        return NULL;
    return value_pairs(self->profile.metrics[metric].values,
                       a->node_metric_inclusive + (size_t)metric * a->node_count, a->node_count);
}

static const pg_hist_t *hist_arg(pg_pyprofile_t *self, unsigned int func)
{
    if (func >= self->profile.func_count) {
        PyErr_SetString(PyExc_IndexError, "function index out of range");
        return NULL;
    }
    return &self->profile.funcs[func].hist;
}

static PyObject *profile_histogram(pg_pyprofile_t *self, PyObject *args)
{
    unsigned int func;
    if (!PyArg_ParseTuple(args, "I:histogram", &func))
        return NULL;
    const pg_hist_t *h = hist_arg(self, func);
    if (!h)
        return NULL;
    double unit = self->profile.run.ns_per_unit;
    PyObject *buckets = PyList_New(0);
    for (uint32_t b = 0; buckets && b < PG_HIST_BUCKETS; b++) {
        uint64_t count = pg_hist_bucket_count(h, b);
        if (!count)
            continue;
        double low = (double)pg_hist_bucket_low(b) * unit;
        double high = (double)(pg_hist_bucket_low(b) + pg_hist_bucket_width(b)) * unit;
        PyObject *item = Py_BuildValue("(ddK)", low, high, (unsigned long long)count);
        if (!item || PyList_Append(buckets, item) < 0)
            Py_CLEAR(buckets);
        Py_XDECREF(item);
    }
    if (!buckets)
        return NULL;
    return Py_BuildValue("{sdsKsdsdsdsN}", "unit_ns", unit, "count",
                         (unsigned long long)h->count, "sum_ns", (double)h->sum * unit, "min_ns",
                         h->count ? (double)h->min * unit : 0.0, "max_ns",
                         (double)h->max * unit, "buckets", buckets);
}

static PyObject *profile_quantiles(pg_pyprofile_t *self, PyObject *args)
{
    unsigned int func;
    PyObject *qs;
    if (!PyArg_ParseTuple(args, "IO:quantiles", &func, &qs))
        return NULL;
    const pg_hist_t *h = hist_arg(self, func);
    PyObject *fast = h ? PySequence_Fast(qs, "qs must be a sequence of floats") : NULL;
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        double q = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (q == -1.0 && PyErr_Occurred()) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, PyFloat_FromDouble(quantile_ns(&self->profile, h, q, 1.0)));
    }
    Py_DECREF(fast);
    return out;
}

static PyObject *profile_stages(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    return pg_stage_table_to_python(&self->profile);
}

static PyObject *profile_spans(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    return pg_stage_spans_to_python(&self->profile);
}

static PyObject *profile_get_stage_log(pg_pyprofile_t *self, void *closure)
{
    (void)closure;
    const pg_stage_table_t *t = &self->profile.stages;
    return Py_BuildValue("{s:I,s:K,s:K,s:I}", "coalesced", t->coalesced, "spans_dropped",
                         (unsigned long long)t->spans_dropped, "lost",
                         (unsigned long long)t->lost, "span_limit", t->span_limit);
}

static PyObject *profile_latency_samples(pg_pyprofile_t *self, PyObject *args, PyObject *kwargs)
{
    int correct = parse_correct(args, kwargs, "latency_samples");
    const pg_aggregate_t *aggregate = correct < 0 ? NULL : aggregate_of(self, correct);
    if (!aggregate)
        return NULL;
    PyObject *list = PyList_New(self->profile.func_count);
    for (uint32_t i = 0; list && i < self->profile.func_count; i++) {
        double scale = correct ? aggregate->funcs[i].latency_scale : 1.0;
        PyObject *sample = pg_sample_bytes(&self->profile.funcs[i].hist,
                                           self->profile.run.ns_per_unit, scale);
        if (!sample) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, sample);
    }
    return list;
}

static PyObject *profile_timeline(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    return pg_timeline_to_python(&self->profile.timeline);
}

/* Per stage, its per-record (own time) latency histogram in the encoded ns
 * form of latency_samples: what the history store keeps for stages. */
static PyObject *profile_stage_latency_samples(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    const pg_stage_table_t *table = &self->profile.stages;
    PyObject *list = PyList_New(table->count);
    for (uint32_t i = 0; list && i < table->count; i++) {
        PyObject *sample = pg_sample_bytes(&table->stages[i].latency,
                                           self->profile.run.ns_per_unit, 1.0);
        if (!sample) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, sample);
    }
    return list;
}

/* Units to nanoseconds as the pure-Python reader does (_format._units_to_ns). */
static unsigned long long units_to_ns(uint64_t units, double ns_per_unit)
{
    double value = (double)units * ns_per_unit;
    return value >= 18446744073709549568.0 ? UINT64_MAX : (unsigned long long)(value + 0.5);
}

static PyObject *profile_line_heat(pg_pyprofile_t *self, PyObject *unused)
{
    (void)unused;
    const pg_line_table_t *table = &self->profile.lines;
    double unit = self->profile.run.ns_per_unit;
    PyObject *list = PyList_New(table->count);
    for (uint32_t i = 0; list && i < table->count; i++) {
        const pg_line_heat_t *row = &table->rows[i];
        PyObject *item = Py_BuildValue("(IIKKK)", row->func, row->line,
                                       units_to_ns(row->self, unit),
                                       units_to_ns(row->total, unit),
                                       (unsigned long long)row->hits);
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyMethodDef profile_methods[] = {
    {"line_heat", (PyCFunction)profile_line_heat, METH_NOARGS,
     "line_heat() -> list of (func_index, line, self_ns, total_ns, hits)"},
    {"stage_latency_samples", (PyCFunction)profile_stage_latency_samples, METH_NOARGS,
     "stage_latency_samples() -> list of bytes"},
    {"stages", (PyCFunction)profile_stages, METH_NOARGS, "stages() -> list of dicts"},
    {"spans", (PyCFunction)profile_spans, METH_NOARGS, "spans() -> list of tuples"},
    {"read", profile_read, METH_VARARGS | METH_STATIC, "read(path) -> Profile"},
    {"write", (PyCFunction)profile_write, METH_VARARGS, "write(path): atomic"},
    {"set_meta", (PyCFunction)profile_set_meta, METH_VARARGS, "set_meta(key, value)"},
    {"functions", (PyCFunction)(void (*)(void))profile_functions, METH_VARARGS | METH_KEYWORDS,
     "functions(correct=True) -> list of tuples"},
    {"nodes", (PyCFunction)(void (*)(void))profile_nodes, METH_VARARGS | METH_KEYWORDS,
     "nodes(correct=True) -> list of tuples"},
    {"edges", (PyCFunction)(void (*)(void))profile_edges, METH_VARARGS | METH_KEYWORDS,
     "edges(correct=True) -> list of tuples"},
    {"histogram", (PyCFunction)profile_histogram, METH_VARARGS, "histogram(func) -> dict"},
    {"quantiles", (PyCFunction)profile_quantiles, METH_VARARGS, "quantiles(func, qs) -> list"},
    {"merge", (PyCFunction)profile_merge, METH_VARARGS, "merge(other): add other into this profile"},
    {"add_process", (PyCFunction)(void (*)(void))profile_add_process, METH_VARARGS | METH_KEYWORDS,
     "add_process(source, *, pid, parent_pid, role, state): a process table entry"},
    {"latency_samples", (PyCFunction)(void (*)(void))profile_latency_samples,
     METH_VARARGS | METH_KEYWORDS, "latency_samples(correct=True) -> list of bytes"},
    {"timeline", (PyCFunction)profile_timeline, METH_NOARGS,
     "timeline() -> dict of columns, or None"},
    {"thread_io", (PyCFunction)profile_thread_io, METH_NOARGS,
     "thread_io() -> list of dict: I/O totals of the process and each thread"},
    {"metrics", (PyCFunction)profile_metrics, METH_NOARGS,
     "metrics() -> [(name, unit, merge)]"},
    {"function_metric", (PyCFunction)profile_function_metric, METH_VARARGS,
     "function_metric(metric) -> [(exclusive, inclusive)] per function"},
    {"node_metric", (PyCFunction)profile_node_metric, METH_VARARGS,
     "node_metric(metric) -> [(exclusive, inclusive)] per node"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef profile_getset[] = {
    {"meta", (getter)profile_get_meta, NULL, "metadata dict", NULL},
    {"run", (getter)profile_get_run, NULL, "run statistics dict", NULL},
    {"function_count", (getter)profile_get_function_count, NULL, NULL, NULL},
    {"node_count", (getter)profile_get_node_count, NULL, NULL, NULL},
    {"processes", (getter)profile_get_processes, NULL, "process table (list of dicts)", NULL},
    {"stage_log", (getter)profile_get_stage_log, NULL, "span log counters", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject pg_ProfileType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipegauge._core.Profile",
    .tp_basicsize = sizeof(pg_pyprofile_t),
    .tp_dealloc = (destructor)profile_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A profile held in C (live snapshot or read from a file).",
    .tp_methods = profile_methods,
    .tp_getset = profile_getset,
};
