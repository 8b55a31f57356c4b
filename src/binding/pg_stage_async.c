/* Pipeline stages for async code: a coroutine stage and an async
 * generator stage are driven step by step through StageStep, which times
 * each send() into the wrapped awaitable as one activation. The gaps
 * between steps (the event loop running other tasks, I/O waits) are the
 * invocation's suspended time, not its own time.
 *
 *   StageAwaitable(stage, coroutine, records_in): `await` it once; the
 *     coroutine's result is returned unchanged. records_in is len() of the
 *     stage function's first argument (-1: not sized).
 *   StageAsyncGen(stage, agen): an async iterator forwarding __anext__,
 *     asend, athrow and aclose; each item it yields is a record out.
 *
 * Every function runs with the GIL held.
 */
#include "pg_binding.h"
#include "pg_clock.h"
#include "pg_error.h"
#include "pg_stages.h"

enum { MODE_COROUTINE = 0, MODE_AGEN_ITEM = 1, MODE_AGEN_CLOSE = 2 };

/* What owns an invocation: StageAwaitable or StageAsyncGen, which both
 * start with this header. */
typedef struct stage_owner {
    PyObject_HEAD
    PyObject *wrapped;          /* owned: coroutine or async generator */
    pg_stage_invocation_t inv;  /* counters of this invocation */
    long long records_in;       /* coroutine: len(first argument) or -1 */
} stage_owner_t;

typedef struct stage_step {
    PyObject_HEAD
    stage_owner_t *owner; /* owned reference: keeps inv alive */
    PyObject *inner;      /* owned: what each step sends into */
    int mode;             /* MODE_* */
} stage_step_t;

static PyTypeObject StageStepType, StageAwaitableType, StageAsyncGenType;

/* result of a method call, as PyIter_Send would report it. */
static PySendResult as_send_result(PyObject *result, PyObject **out)
{
    if (result) {
        *out = result;
        return PYGEN_NEXT;
    }
    if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        PyErr_NormalizeException(&type, &value, &traceback);
        PyObject *returned = value ? PyObject_GetAttrString(value, "value") : NULL;
        Py_XDECREF(type), Py_XDECREF(value), Py_XDECREF(traceback);
        if (!returned)
            return PYGEN_ERROR;
        *out = returned;
        return PYGEN_RETURN;
    }
    *out = NULL;
    return PYGEN_ERROR;
}

/* Raise StopIteration(value) so the awaiting frame receives value. */
static PyObject *return_value(PyObject *value)
{
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
    Py_DECREF(value);
    if (stop) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

/* One step: send value (NULL: None) or throw args into inner. */
/* After tp_clear (a collected cycle) a step or owner may be called from a
 * finalizer: refuse instead of dereferencing NULL. */
static int gone(const void *pointer)
{
    if (pointer)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "a pipegauge stage wrapper was already cleared");
    return 1;
}

static PyObject *step_run(stage_step_t *self, PyObject *value, PyObject *throw_args)
{
    if (gone(self->owner) || gone(self->inner))
        return NULL;
    stage_owner_t *owner = self->owner;
    pg_stage_invocation_t *inv = &owner->inv;
    PyObject *result = NULL;
    pg_stages_invocation_resume(inv, pg_clock_ticks());
    uint32_t depth = pg_stages_push(inv->stage, PG_STAGE_FRAME_CPU);
    PySendResult sent;
    if (throw_args) {
        PyObject *method = PyObject_GetAttrString(self->inner, "throw");
        PyObject *called = method ? PyObject_Call(method, throw_args, NULL) : NULL;
        Py_XDECREF(method);
        sent = as_send_result(called, &result);
    } else {
        sent = PyIter_Send(self->inner, value ? value : Py_None, &result);
    }
    uint64_t now = pg_clock_ticks();
    pg_stage_done_t done;
    pg_stages_pop(depth, now, 0, 0, &done);
    int item = self->mode == MODE_AGEN_ITEM && sent == PYGEN_RETURN;
    pg_stages_invocation_after(inv, &done, now, item);
    if (sent == PYGEN_NEXT)
        return result; /* suspended at an await: hand the future to the loop */
    if (sent == PYGEN_RETURN) {
        if (self->mode == MODE_COROUTINE) {
            long long in = owner->records_in >= 0 ? owner->records_in : (long long)0;
            long long out = pg_stage_records_of(result);
            pg_stages_invocation_records(inv, (uint64_t)in, out > 0 ? (uint64_t)out : 0);
            pg_stages_invocation_finish(inv, 0);
        } else if (self->mode == MODE_AGEN_CLOSE) {
            pg_stages_invocation_finish(inv, 0);
        }
        return return_value(result);
    }
    int ended = self->mode != MODE_COROUTINE &&
                PyErr_ExceptionMatches(PyExc_StopAsyncIteration);
    int closed = PyErr_ExceptionMatches(PyExc_GeneratorExit);
    pg_stages_invocation_finish(inv, !ended && !closed);
    return NULL;
}

static PyObject *step_next(stage_step_t *self)
{
    return step_run(self, NULL, NULL);
}

static PyObject *step_send(stage_step_t *self, PyObject *value)
{
    return step_run(self, value, NULL);
}

static PyObject *step_throw(stage_step_t *self, PyObject *args)
{
    return step_run(self, NULL, args);
}

static PyObject *step_close(stage_step_t *self, PyObject *unused)
{
    (void)unused;
    if (gone(self->inner))
        return NULL;
    if (PyObject_HasAttrString(self->inner, "close"))
        return PyObject_CallMethod(self->inner, "close", NULL);
    Py_RETURN_NONE;
}

static PyObject *step_await(PyObject *self)
{
    Py_INCREF(self);
    return self;
}

static PyObject *step_new(stage_owner_t *owner, PyObject *inner, int mode)
{
    if (!inner)
        return NULL;
    stage_step_t *self = PyObject_GC_New(stage_step_t, &StageStepType);
    if (!self) {
        Py_DECREF(inner);
        return NULL;
    }
    Py_INCREF(owner);
    self->owner = owner;
    self->inner = inner; /* reference taken */
    self->mode = mode;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int step_traverse(stage_step_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    Py_VISIT(self->inner);
    return 0;
}

static int step_clear(stage_step_t *self)
{
    Py_CLEAR(self->owner);
    Py_CLEAR(self->inner);
    return 0;
}

static void step_dealloc(stage_step_t *self)
{
    PyObject_GC_UnTrack(self);
    step_clear(self);
    PyObject_GC_Del(self);
}

static PyMethodDef step_methods[] = {
    {"send", (PyCFunction)step_send, METH_O, NULL},
    {"throw", (PyCFunction)step_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)step_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods step_async = {.am_await = step_await};

static PyTypeObject StageStepType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipegauge._core.StageStep",
    .tp_basicsize = sizeof(stage_step_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One awaited step of an async stage (internal).",
    .tp_dealloc = (destructor)step_dealloc,
    .tp_traverse = (traverseproc)step_traverse,
    .tp_clear = (inquiry)step_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)step_next,
    .tp_methods = step_methods,
    .tp_as_async = &step_async,
};

/* ---- owners --------------------------------------------------------------- */

static int owner_traverse(stage_owner_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->wrapped);
    return 0;
}

static int owner_clear(stage_owner_t *self)
{
    Py_CLEAR(self->wrapped);
    return 0;
}

static void owner_dealloc(stage_owner_t *self)
{
    PyObject_GC_UnTrack(self);
    pg_stages_invocation_finish(&self->inv, 0);
    owner_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *owner_new(PyTypeObject *type, PyObject *args, const char *format)
{
    long long stage, records_in = -1;
    PyObject *wrapped;
    if (!PyArg_ParseTuple(args, format, &stage, &wrapped, &records_in))
        return NULL;
    if (stage < 0 || (unsigned long long)stage >= pg_stages_live.table.count) {
        PyErr_SetString(PyExc_ValueError, "unknown stage index");
        return NULL;
    }
    stage_owner_t *self = (stage_owner_t *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    Py_INCREF(wrapped);
    self->wrapped = wrapped;
    self->inv.stage = (uint32_t)stage;
    self->records_in = records_in;
    return (PyObject *)self;
}

static PyObject *awaitable_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)kwargs;
    return owner_new(type, args, "LO|L:StageAwaitable");
}

static PyObject *awaitable_await(stage_owner_t *self)
{
    if (!self->wrapped) {
        PyErr_SetString(PyExc_RuntimeError, "a stage awaitable can be awaited once");
        return NULL;
    }
    PyObject *coroutine = self->wrapped;
    Py_INCREF(coroutine);
    return step_new(self, coroutine, MODE_COROUTINE);
}

static PyAsyncMethods awaitable_async = {.am_await = (unaryfunc)awaitable_await};

static PyTypeObject StageAwaitableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipegauge._core.StageAwaitable",
    .tp_basicsize = sizeof(stage_owner_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "StageAwaitable(stage, coroutine, records_in=-1): await to run it as a stage",
    .tp_new = awaitable_new,
    .tp_dealloc = (destructor)owner_dealloc,
    .tp_traverse = (traverseproc)owner_traverse,
    .tp_clear = (inquiry)owner_clear,
    .tp_as_async = &awaitable_async,
};

static PyObject *agen_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)kwargs;
    return owner_new(type, args, "LO|L:StageAsyncGen");
}

static PyObject *agen_aiter(PyObject *self)
{
    Py_INCREF(self);
    return self;
}

static PyObject *agen_anext(stage_owner_t *self)
{
    if (gone(self->wrapped))
        return NULL;
    return step_new(self, PyObject_CallMethod(self->wrapped, "__anext__", NULL),
                    MODE_AGEN_ITEM);
}

static PyObject *agen_asend(stage_owner_t *self, PyObject *value)
{
    if (gone(self->wrapped))
        return NULL;
    return step_new(self, PyObject_CallMethod(self->wrapped, "asend", "O", value),
                    MODE_AGEN_ITEM);
}

static PyObject *agen_athrow(stage_owner_t *self, PyObject *args)
{
    if (gone(self->wrapped))
        return NULL;
    PyObject *method = PyObject_GetAttrString(self->wrapped, "athrow");
    PyObject *inner = method ? PyObject_Call(method, args, NULL) : NULL;
    Py_XDECREF(method);
    return step_new(self, inner, MODE_AGEN_ITEM);
}

static PyObject *agen_aclose(stage_owner_t *self, PyObject *unused)
{
    (void)unused;
    if (gone(self->wrapped))
        return NULL;
    return step_new(self, PyObject_CallMethod(self->wrapped, "aclose", NULL), MODE_AGEN_CLOSE);
}

static PyObject *agen_getattro(stage_owner_t *self, PyObject *name)
{
    PyObject *value = PyObject_GenericGetAttr((PyObject *)self, name);
    if (value || !self->wrapped || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return value;
    PyErr_Clear();
    return PyObject_GetAttr(self->wrapped, name);
}

static PyMethodDef agen_methods[] = {
    {"asend", (PyCFunction)agen_asend, METH_O, NULL},
    {"athrow", (PyCFunction)agen_athrow, METH_VARARGS, NULL},
    {"aclose", (PyCFunction)agen_aclose, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods agen_async = {
    .am_aiter = agen_aiter,
    .am_anext = (unaryfunc)agen_anext,
};

static PyTypeObject StageAsyncGenType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipegauge._core.StageAsyncGen",
    .tp_basicsize = sizeof(stage_owner_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "StageAsyncGen(stage, agen): an async generator counted as a stage",
    .tp_new = agen_new,
    .tp_dealloc = (destructor)owner_dealloc,
    .tp_traverse = (traverseproc)owner_traverse,
    .tp_clear = (inquiry)owner_clear,
    .tp_getattro = (getattrofunc)agen_getattro,
    .tp_methods = agen_methods,
    .tp_as_async = &agen_async,
};

int pg_stage_async_types_ready(PyObject *module)
{
    if (PyType_Ready(&StageStepType) < 0 || PyType_Ready(&StageAwaitableType) < 0 ||
        PyType_Ready(&StageAsyncGenType) < 0 ||
        PyModule_AddObjectRef(module, "StageAwaitable", (PyObject *)&StageAwaitableType) < 0 ||
        PyModule_AddObjectRef(module, "StageAsyncGen", (PyObject *)&StageAsyncGenType) < 0)
        return -1;
    return 0;
}
