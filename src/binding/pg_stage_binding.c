/* Pipeline stages seen from Python: the iterator, awaitable and async
 * generator wrappers that pipegauge.stage builds, the call and with-block
 * entry points, and the stage table as Python objects. The counting itself
 * is in src/runtime/pg_stages.c; see src/pipegauge/_core.pyi for the
 * contract.
 *
 * Every function runs with the GIL held (the stage table's lock).
 */
#include "pg_binding.h"
#include "pg_clock.h"
#include "pg_error.h"
#include "pg_stages.h"

/* ---- helpers ------------------------------------------------------------ */

static int stage_index_arg(long long value, uint32_t *stage)
{
    if (value < 0 || (unsigned long long)value >= pg_stages_live.table.count) {
        PyErr_SetString(PyExc_ValueError, "unknown stage index");
        return -1;
    }
    *stage = (uint32_t)value;
    return 0;
}

/* len(object) when it is a sized collection of records; -1 otherwise.
 * Text and bytes are one value, not records. Never leaves an exception. */
long long pg_stage_records_of(PyObject *object)
{
    if (!object || PyUnicode_Check(object) || PyBytes_Check(object) ||
        PyByteArray_Check(object))
        return -1;
    PyTypeObject *type = Py_TYPE(object);
    int sized = (type->tp_as_sequence && type->tp_as_sequence->sq_length) ||
                (type->tp_as_mapping && type->tp_as_mapping->mp_length);
    if (!sized)
        return -1;
    Py_ssize_t n = PyObject_Size(object);
    if (n < 0) {
        PyErr_Clear();
        return -1;
    }
    return n;
}

/* ---- StageIterator: iterator stages, stage.iter, counting proxies ------- */

typedef struct stage_iterator {
    PyObject_HEAD
    PyObject *iterator;          /* owned: the wrapped iterator */
    int proxy;                   /* 1: only counts pulls, not a stage */
    pg_stage_invocation_t inv;   /* this invocation's counters */
} stage_iterator_t;

static PyTypeObject StageIteratorType;

typedef PyObject *(*iterator_step_fn)(PyObject *iterator, PyObject *arg);

static PyObject *step_next(PyObject *iterator, PyObject *arg)
{
    (void)arg;
    return Py_TYPE(iterator)->tp_iternext(iterator);
}

static PyObject *step_send(PyObject *iterator, PyObject *value)
{
    return PyObject_CallMethod(iterator, "send", "O", value);
}

static PyObject *step_throw(PyObject *iterator, PyObject *args)
{
    PyObject *method = PyObject_GetAttrString(iterator, "throw");
    if (!method)
        return NULL;
    PyObject *result = PyObject_Call(method, args, NULL);
    Py_DECREF(method);
    return result;
}

/* One activation: the wrapped iterator runs (and pulls from its upstream)
 * between push and pop; the clock is read twice. */
static PyObject *iterator_step(stage_iterator_t *self, iterator_step_fn step, PyObject *arg)
{
    PyObject *iterator = self->iterator;
    if (!iterator) { /* cleared by the garbage collector: exhausted */
        if (step != step_next)
            PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    }
    if (self->proxy) {
        uint32_t previous = pg_stages_proxy_begin();
        PyObject *item = step(iterator, arg);
        pg_stages_proxy_end(previous, item != NULL);
        return item;
    }
    pg_stage_invocation_t *inv = &self->inv;
    pg_stages_invocation_resume(inv, pg_clock_ticks());
    uint32_t depth = pg_stages_push(inv->stage, 0);
    PyObject *item = step(iterator, arg);
    uint64_t now = pg_clock_ticks();
    pg_stage_done_t done;
    pg_stages_pop(depth, now, 1, item != NULL, &done);
    pg_stages_invocation_after(inv, &done, now, item != NULL);
    if (!item) {
        PyObject *error = PyErr_Occurred();
        int failed = error && !PyErr_GivenExceptionMatches(error, PyExc_StopIteration);
        pg_stages_invocation_finish(inv, failed);
    }
    return item;
}

static PyObject *stage_iterator_next(stage_iterator_t *self)
{
    return iterator_step(self, step_next, NULL);
}

static PyObject *stage_iterator_send(stage_iterator_t *self, PyObject *value)
{
    return iterator_step(self, step_send, value);
}

static PyObject *stage_iterator_throw(stage_iterator_t *self, PyObject *args)
{
    return iterator_step(self, step_throw, args);
}

static PyObject *stage_iterator_close(stage_iterator_t *self, PyObject *unused)
{
    (void)unused;
    PyObject *result = Py_None;
    Py_INCREF(result);
    if (self->iterator && PyObject_HasAttrString(self->iterator, "close")) {
        Py_DECREF(result);
        result = PyObject_CallMethod(self->iterator, "close", NULL);
    }
    if (!self->proxy)
        pg_stages_invocation_finish(&self->inv, 0);
    return result;
}

static PyObject *stage_iterator_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"stage", "iterable", "proxy", NULL};
    long long stage = 0;
    PyObject *iterable;
    int proxy = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "LO|$p:StageIterator", keywords, &stage,
                                     &iterable, &proxy))
        return NULL;
    uint32_t index = 0;
    if (!proxy && stage_index_arg(stage, &index) < 0)
        return NULL;
    PyObject *iterator = PyObject_GetIter(iterable);
    if (!iterator)
        return NULL;
    stage_iterator_t *self = (stage_iterator_t *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(iterator);
        return NULL;
    }
    self->iterator = iterator;
    self->proxy = proxy;
    self->inv.stage = index;
    return (PyObject *)self;
}

static int stage_iterator_traverse(stage_iterator_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->iterator);
    return 0;
}

static int stage_iterator_clear(stage_iterator_t *self)
{
    Py_CLEAR(self->iterator);
    return 0;
}

static void stage_iterator_dealloc(stage_iterator_t *self)
{
    PyObject_GC_UnTrack(self);
    /* A consumer that stopped early: the invocation ends at its last record. */
    if (!self->proxy)
        pg_stages_invocation_finish(&self->inv, 0);
    stage_iterator_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Attributes the wrapper does not have come from the wrapped iterator, so
 * a stage that uses its upstream's API (a csv reader's line_num) still
 * works when the upstream is wrapped to count records. */
static PyObject *stage_iterator_getattro(stage_iterator_t *self, PyObject *name)
{
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value || !self->iterator || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return value;
    PyErr_Clear();
    return PyObject_GetAttr(self->iterator, name);
}

static PyObject *stage_iterator_get_wrapped(stage_iterator_t *self, void *closure)
{
    (void)closure;
    PyObject *value = self->iterator ? self->iterator : Py_None;
    Py_INCREF(value);
    return value;
}

static PyMethodDef stage_iterator_methods[] = {
    {"send", (PyCFunction)stage_iterator_send, METH_O, "send(value): as generator.send"},
    {"throw", (PyCFunction)stage_iterator_throw, METH_VARARGS, "throw(...): as generator.throw"},
    {"close", (PyCFunction)stage_iterator_close, METH_NOARGS, "close(): ends the invocation"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef stage_iterator_getset[] = {
    {"__wrapped__", (getter)stage_iterator_get_wrapped, NULL, "the wrapped iterator", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StageIteratorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipegauge._core.StageIterator",
    .tp_basicsize = sizeof(stage_iterator_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "StageIterator(stage, iterable, *, proxy=False): counts a stage's records",
    .tp_new = stage_iterator_new,
    .tp_dealloc = (destructor)stage_iterator_dealloc,
    .tp_traverse = (traverseproc)stage_iterator_traverse,
    .tp_clear = (inquiry)stage_iterator_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)stage_iterator_next,
    .tp_getattro = (getattrofunc)stage_iterator_getattro,
    .tp_methods = stage_iterator_methods,
    .tp_getset = stage_iterator_getset,
};

/* ---- calls and with-blocks ---------------------------------------------- */

PyObject *pg_core_stage_intern(PyObject *module, PyObject *name)
{
    (void)module;
    Py_ssize_t length;
    const char *text = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &length) : NULL;
    if (!text) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "a stage name is a str");
        return NULL;
    }
    int64_t index = pg_stages_intern(text, (size_t)length);
    if (index == PG_ERR_ARG) {
        PyErr_SetString(PyExc_ValueError, "a stage name is 1 to 4096 bytes without NUL");
        return NULL;
    }
    return index < 0 ? pg_raise((int)index, NULL) : PyLong_FromLongLong(index);
}

PyObject *pg_core_stage_call(PyObject *module, PyObject *args)
{
    (void)module;
    long long index;
    PyObject *func, *call_args, *call_kwargs;
    uint32_t stage;
    if (!PyArg_ParseTuple(args, "LOO!O:stage_call", &index, &func, &PyTuple_Type, &call_args,
                          &call_kwargs) ||
        stage_index_arg(index, &stage) < 0)
        return NULL;
    if (call_kwargs == Py_None)
        call_kwargs = NULL;
    long long records_in =
        PyTuple_GET_SIZE(call_args) ? pg_stage_records_of(PyTuple_GET_ITEM(call_args, 0)) : -1;
    uint32_t depth = pg_stages_push(stage, PG_STAGE_FRAME_CPU | PG_STAGE_FRAME_IO);
    PyObject *result = PyObject_Call(func, call_args, call_kwargs);
    pg_stage_done_t done;
    pg_stages_pop(depth, pg_clock_ticks(), 0, 0, &done);
    long long records_out = pg_stage_records_of(result);
    pg_stages_finish_call(stage, &done, records_in >= 0 ? (uint64_t)records_in : done.pulled,
                          records_out >= 0 ? (uint64_t)records_out : 0, result == NULL);
    return result;
}

PyObject *pg_core_stage_enter(PyObject *module, PyObject *arg)
{
    (void)module;
    uint32_t stage;
    long long index = PyLong_AsLongLong(arg);
    if ((index == -1 && PyErr_Occurred()) || stage_index_arg(index, &stage) < 0)
        return NULL;
    pg_stages_push(stage, PG_STAGE_FRAME_CPU | PG_STAGE_FRAME_IO);
    Py_RETURN_NONE;
}

/* Ends this thread's innermost with-block of the stage; a with-block whose
 * frame is gone (it spanned a yield) is counted as unmatched. */
PyObject *pg_core_stage_exit(PyObject *module, PyObject *args)
{
    (void)module;
    long long index;
    int failed;
    uint32_t stage;
    if (!PyArg_ParseTuple(args, "Lp:stage_exit", &index, &failed) ||
        stage_index_arg(index, &stage) < 0)
        return NULL;
    uint64_t now = pg_clock_ticks();
    uint32_t depth = pg_stages_depth_of(stage);
    if (!depth) {
        pg_stages_live.unmatched++;
        Py_RETURN_NONE;
    }
    pg_stage_done_t done;
    pg_stages_pop(depth, now, 0, 0, &done);
    pg_stages_finish_call(stage, &done, done.pulled, 0, failed);
    Py_RETURN_NONE;
}

/* Explicit counts: into this thread's innermost activation of the stage
 * (any stage when index is -1), else straight into the table. */
PyObject *pg_core_stage_add(PyObject *module, PyObject *args)
{
    (void)module;
    long long index;
    unsigned long long records_in, records_out, bytes;
    if (!PyArg_ParseTuple(args, "LKKK:stage_add", &index, &records_in, &records_out, &bytes))
        return NULL;
    uint32_t stage = UINT32_MAX;
    if (index != -1 && stage_index_arg(index, &stage) < 0)
        return NULL;
    pg_stage_frame_t *frame = pg_stages_innermost(stage);
    if (frame) {
        frame->has_explicit |= records_in || records_out;
        frame->explicit_in += records_in;
        frame->explicit_out += records_out;
        frame->bytes += bytes;
    } else if (stage != UINT32_MAX) {
        pg_stage_t *s = &pg_stages_live.table.stages[stage];
        s->records_in += records_in;
        s->records_out += records_out;
        s->bytes += bytes;
    } else {
        PyErr_SetString(PyExc_RuntimeError, "no pipeline stage is running in this thread");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyObject *pg_core_stage_reset(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    pg_stages_reset(pg_clock_ticks());
    Py_RETURN_NONE;
}

PyObject *pg_core_stage_snapshot(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    pg_profile_t profile;
    int rc = pg_profile_init(&profile);
    if (rc == PG_OK) {
        pg_stage_table_release(&profile.stages);
        rc = pg_stages_copy(&profile.stages);
    }
    if (rc < 0) {
        pg_profile_release(&profile);
        return pg_raise(rc, NULL);
    }
    pg_clock_mark_t now = pg_clock_mark();
    profile.run.ns_per_unit = pg_clock_ns_per_tick(&now);
    return pg_profile_wrap(&profile);
}

PyObject *pg_core_stage_options(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"cpu", "io", NULL};
    int cpu = pg_stages_live.cpu_enabled, io = pg_stages_live.io_enabled;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$pp:stage_options", keywords, &cpu, &io))
        return NULL;
    pg_stages_live.cpu_enabled = cpu;
    pg_stages_live.io_enabled = io;
    Py_RETURN_NONE;
}

int pg_stage_types_ready(PyObject *module)
{
    if (PyType_Ready(&StageIteratorType) < 0 ||
        PyModule_AddObjectRef(module, "StageIterator", (PyObject *)&StageIteratorType) < 0)
        return -1;
    return pg_stage_async_types_ready(module);
}

/* ---- the stage table of a profile, as Python objects --------------------- */

static PyObject *latency_dict(const pg_hist_t *h, double unit)
{
    double mean = h->count ? (double)h->sum / (double)h->count * unit : 0.0;
    return Py_BuildValue("{s:K,s:d,s:d,s:d,s:d,s:d,s:d}", "count", (unsigned long long)h->count,
                         "min_ns", pg_hist_quantile(h, 0.0) * unit, "mean_ns", mean, "p50_ns",
                         pg_hist_quantile(h, 0.50) * unit, "p95_ns",
                         pg_hist_quantile(h, 0.95) * unit, "p99_ns",
                         pg_hist_quantile(h, 0.99) * unit, "max_ns",
                         pg_hist_quantile(h, 1.0) * unit);
}

static PyObject *stage_dict(const pg_stage_t *s, double unit)
{
    PyObject *latency = latency_dict(&s->latency, unit);
    if (!latency)
        return NULL;
    PyObject *name = PyUnicode_DecodeUTF8(s->name, s->name_length, "replace");
    PyObject *dict = name ? Py_BuildValue(
        "{s:O,s:O,s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:d,s:d,s:d,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:O}",
        "name", name, "auto", (s->flags & PG_STAGE_AUTO) ? Py_True : Py_False,
        "invocations", (unsigned long long)s->invocations,
        "records_in", (unsigned long long)s->records_in,
        "records_out", (unsigned long long)s->records_out,
        "bytes", (unsigned long long)s->bytes,
        "exceptions", (unsigned long long)s->exceptions,
        "own_ns", (double)s->own * unit, "upstream_ns", (double)s->upstream * unit,
        "nested_ns", (double)s->nested * unit, "suspended_ns", (double)s->suspended * unit,
        "wall_ns", (double)s->wall * unit, "cpu_ns", (unsigned long long)s->cpu_ns,
        "cpu_measured", (unsigned long long)s->cpu_invocations,
        "io_read_bytes", (unsigned long long)s->io_read_bytes,
        "io_write_bytes", (unsigned long long)s->io_write_bytes,
        "io_measured", (unsigned long long)s->io_invocations,
        "memory_bytes", (unsigned long long)s->mem_allocated,
        "memory_measured", (unsigned long long)s->mem_activations, "latency", latency) : NULL;
    Py_XDECREF(name);
    Py_DECREF(latency);
    return dict;
}

PyObject *pg_stage_table_to_python(const pg_profile_t *profile)
{
    const pg_stage_table_t *table = &profile->stages;
    PyObject *list = PyList_New(table->count);
    for (uint32_t i = 0; list && i < table->count; i++) {
        PyObject *item = stage_dict(&table->stages[i], profile->run.ns_per_unit);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

PyObject *pg_stage_spans_to_python(const pg_profile_t *profile)
{
    const pg_stage_table_t *table = &profile->stages;
    double unit = profile->run.ns_per_unit;
    PyObject *list = PyList_New(table->span_count);
    for (uint32_t i = 0; list && i < table->span_count; i++) {
        const pg_stage_span_t *s = &table->spans[i];
        PyObject *item = Py_BuildValue("(IKdddK)", s->stage, (unsigned long long)s->thread,
                                       (double)s->start * unit, (double)s->end * unit,
                                       (double)s->busy * unit,
                                       (unsigned long long)s->invocations);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}
