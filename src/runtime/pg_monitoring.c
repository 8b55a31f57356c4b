/* Backend for CPython 3.12+: sys.monitoring with callbacks that are C
 * vectorcall objects (no argument parsing, no frame objects).
 *
 * Collapsed code answers DISABLE on its local events, so after the first
 * call it costs nothing. DISABLE is never returned from a non-local event
 * (PY_THROW, PY_UNWIND, C_RETURN, C_RAISE): CPython raises on that.
 */
#include "pg_tracer.h"
#include "pg_linetrace.h"

#if PG_USE_MONITORING

#include <stddef.h>
#include <stdlib.h>

typedef struct pg_callback {
    PyObject_HEAD
    vectorcallfunc vectorcall; /* the event handler */
} pg_callback_t;

static PyTypeObject callback_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipegauge._core._MonitoringCallback",
    .tp_basicsize = sizeof(pg_callback_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(pg_callback_t, vectorcall),
    .tp_call = PyVectorcall_Call,
};

static PyObject *disable_object; /* sys.monitoring.DISABLE, strong */
static PyObject *missing_object; /* sys.monitoring.MISSING, strong */
static int tool_id = -1;         /* the tool id we hold, -1 when none */
static char backend_name[64] = "sys.monitoring";

#define NONE() Py_NewRef(Py_None)

/* PY_START, PY_RESUME (local events: DISABLE allowed). */
static inline PyObject *enter(PyObject *const *args, int resumed)
{
    PyCodeObject *code = (PyCodeObject *)args[0];
    uint32_t func = pg_codemap_code(code);
    if (func == PG_CODE_FILTERED)
        return Py_NewRef(disable_object);
    pg_thread_t *thread = pg_thread_get();
    if (PG_LIKELY(thread && func != PG_NONE)) {
        pg_tracer_push(thread, code, NULL, func);
        if (PG_LIKELY(thread->depth))
            pg_linetrace_on_entry(code, func, thread->frames[thread->depth - 1].start, resumed,
                                  args[1]);
    } else {
        pg_tracer.lost++;
    }
    return NONE();
}

static PyObject *on_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    return enter(args, 0);
}

static PyObject *on_resume(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    return enter(args, 1);
}

/* PY_THROW: a generator resumed by throw(). Non-local: never DISABLE. */
static PyObject *on_throw(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    PyCodeObject *code = (PyCodeObject *)args[0];
    uint32_t func = pg_codemap_code(code);
    pg_thread_t *thread = pg_thread_get();
    if (func != PG_CODE_FILTERED && func != PG_NONE && thread)
        pg_tracer_push(thread, code, NULL, func);
    return NONE();
}

/* Shared exit path; returns the code's func when no frame matched. */
static inline uint32_t leave(PyCodeObject *code, int by_exception)
{
    uint64_t now = pg_clock_ticks();
    pg_thread_t *thread = pg_thread_get();
    if (PG_UNLIKELY(!thread))
        return PG_NONE;
    if (PG_LIKELY(thread->depth && thread->frames[thread->depth - 1].key == code)) {
        pg_tracer_pop(thread, now, by_exception);
        return 0;
    }
    uint32_t func = pg_codemap_code(code);
    if (func != PG_CODE_FILTERED && !pg_tracer_pop_deep(thread, code, now, by_exception))
        pg_tracer.unmatched++;
    return func;
}

/* PY_RETURN, PY_YIELD (local events). */
static PyObject *on_return(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    if (leave((PyCodeObject *)args[0], 0) == PG_CODE_FILTERED)
        return Py_NewRef(disable_object);
    return NONE();
}

/* PY_UNWIND: the function exits by an exception. Non-local. */
static PyObject *on_unwind(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    leave((PyCodeObject *)args[0], 1);
    return NONE();
}

/* Call sites (code object, instruction offset) seen by CALL, to decide when
 * a site may stop reporting. A site whose callees were all Python functions,
 * methods or classes for SITE_WARMUP calls is disabled: those callees report
 * PY_START themselves, so its CALL events would only cost. A site that ever
 * called a builtin stays watched (a list of pipeline steps mixing Python
 * functions and builtins, applied at one line, keeps exact counts).
 * Direct-mapped and lossy: a collision evicts the older site, which at worst
 * starts its warm-up again. Entries carry the session generation. */
#define SITE_WARMUP 16
#define SITE_SLOTS 16384

typedef struct pg_site {
    const void *code;     /* borrowed, compared only */
    uint32_t offset;      /* instruction offset in code */
    uint16_t generation;  /* low bits of the session generation */
    uint8_t python_calls; /* Python callees seen, up to SITE_WARMUP */
    uint8_t saw_builtin;  /* 1 once the site called a builtin */
} pg_site_t;

static pg_site_t *sites; /* SITE_SLOTS entries, owned; NULL until needed */

static pg_site_t *site_of(PyObject *code, PyObject *offset_object)
{
    if (PG_UNLIKELY(!sites) && !(sites = calloc(SITE_SLOTS, sizeof *sites)))
        return NULL;
    uint32_t offset = (uint32_t)PyLong_AsLong(offset_object); /* a small int: cannot fail */
    uint64_t hash = ((uintptr_t)code >> 4) * 0x9E3779B97F4A7C15ull ^ offset * 0x85EBCA6Bu;
    pg_site_t *site = &sites[(hash >> 20) & (SITE_SLOTS - 1)];
    uint16_t generation = (uint16_t)pg_tracer.generation;
    if (site->code != code || site->offset != offset || site->generation != generation) {
        site->code = code;
        site->offset = offset;
        site->generation = generation;
        site->python_calls = 0;
        site->saw_builtin = 0;
    }
    return site;
}

uint64_t pg_backend_memory(void)
{
    return sites ? SITE_SLOTS * sizeof *sites : 0;
}

/* CALL (local): only builtins are entered here; Python callees get their
 * own PY_START. Sites in collapsed code are disabled at once; other sites
 * as described above (unless exact_builtins keeps them all). */
static PyObject *on_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    PyCodeObject *code = (PyCodeObject *)args[0];
    PyObject *callable = args[2];
    int builtin = PyCFunction_Check(callable) || Py_IS_TYPE(callable, &PyMethodDescr_Type);
    if (!builtin) {
        if (pg_codemap_code(code) == PG_CODE_FILTERED)
            return Py_NewRef(disable_object);
        if (pg_tracer.exact_builtins ||
            !(PyFunction_Check(callable) || PyMethod_Check(callable) || PyType_Check(callable)))
            return NONE();
        pg_site_t *site = site_of(args[0], args[1]);
        if (site && !site->saw_builtin && ++site->python_calls >= SITE_WARMUP)
            return Py_NewRef(disable_object);
        return NONE();
    }
    pg_thread_t *thread = pg_thread_get();
    if (PG_UNLIKELY(!thread))
        return NONE();
    /* The caller is traced when it is our top frame; otherwise ask. */
    int traced_caller = thread->depth && thread->frames[thread->depth - 1].key == code;
    if (!traced_caller && pg_codemap_code(code) == PG_CODE_FILTERED)
        return Py_NewRef(disable_object);
    if (!pg_tracer.exact_builtins) {
        pg_site_t *site = site_of(args[0], args[1]);
        if (site)
            site->saw_builtin = 1;
    }
    /* A method descriptor called with no argument has no self to name it
     * by; cProfile skips it, and so do we. */
    if (args[3] == missing_object && !PyCFunction_Check(callable))
        return NONE();
    uint32_t func = pg_codemap_builtin(callable, args[3]);
    if (PG_LIKELY(func != PG_NONE))
        pg_tracer_push(thread, callable, code, func);
    return NONE();
}

static inline void leave_builtin(PyObject *const *args, int by_exception)
{
    uint64_t now = pg_clock_ticks();
    pg_thread_t *thread = pg_thread_get();
    if (!thread || !thread->depth)
        return;
    pg_frame_t *top = &thread->frames[thread->depth - 1];
    if (top->key == args[2] && top->caller == args[0])
        pg_tracer_pop(thread, now, by_exception);
}

static PyObject *on_c_return(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    leave_builtin(args, 0);
    return NONE();
}

static PyObject *on_c_raise(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    leave_builtin(args, 1);
    return NONE();
}

/* LINE (local, enabled only on the code objects pg_linetrace chose). */
static PyObject *on_line(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self, (void)nargsf, (void)kw;
    long line = PyLong_AsLong(args[1]);
    if (PG_LIKELY(line > 0 && line <= (long)UINT32_MAX))
        pg_linetrace_on_line((PyCodeObject *)args[0], (uint32_t)line);
    else
        PyErr_Clear(); /* not a line number: nothing to charge */
    return NONE();
}

/* One table registers every callback. */
static const struct {
    const char *event;   /* name in sys.monitoring.events */
    vectorcallfunc handler;
    int need;            /* registered only when: NEED_BUILTINS builtins are
                            attributed, NEED_LINES line heat is on */
    int local_only;      /* not in the global event set */
} handlers[] = {
    {"PY_START", on_start, 0},     {"PY_RESUME", on_resume, 0},
    {"PY_THROW", on_throw, 0},     {"PY_RETURN", on_return, 0},
    {"PY_YIELD", on_return, 0},    {"PY_UNWIND", on_unwind, 0},
    {"CALL", on_call, 1},          {"C_RETURN", on_c_return, 1},
    {"C_RAISE", on_c_raise, 1},    {"LINE", on_line, 2, 1},
};
#define HANDLER_COUNT (sizeof handlers / sizeof handlers[0])
enum { NEED_BUILTINS = 1, NEED_LINES = 2 };

static PyObject *set_local_events; /* sys.monitoring.set_local_events, strong */
static PyObject *lines_codes;      /* set of code objects with LINE on (strong) */
static long line_event_bit;        /* sys.monitoring.events.LINE */

static PyObject *monitoring(void)
{
    PyObject *module = PySys_GetObject("monitoring"); /* borrowed */
    if (!module)
        PyErr_SetString(PyExc_RuntimeError, "sys.monitoring is not available");
    return module;
}

static int claim_tool_id(PyObject *mon)
{
    static const int order[] = {2, 0, 1, 3, 4, 5};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        PyObject *owner = PyObject_CallMethod(mon, "get_tool", "i", order[i]);
        if (!owner)
            return -1;
        int free_id = owner == Py_None;
        Py_DECREF(owner);
        if (!free_id)
            continue;
        PyObject *done = PyObject_CallMethod(mon, "use_tool_id", "is", order[i], "pipegauge");
        if (!done)
            return -1;
        Py_DECREF(done);
        return order[i];
    }
    PyErr_SetString(PyExc_RuntimeError,
                    "all six sys.monitoring tool ids are in use by other tools; "
                    "stop another profiler, debugger or coverage tool first");
    return -2;
}

static long event_bit(PyObject *events, const char *name)
{
    PyObject *value = PyObject_GetAttrString(events, name);
    if (!value)
        return -1;
    long bit = PyLong_AsLong(value);
    Py_DECREF(value);
    return bit;
}

static int register_callbacks(PyObject *mon, long *mask)
{
    PyObject *events = PyObject_GetAttrString(mon, "events");
    if (!events)
        return -1;
    for (size_t i = 0; i < HANDLER_COUNT; i++) {
        if ((handlers[i].need == NEED_BUILTINS && !pg_tracer.builtins) ||
            (handlers[i].need == NEED_LINES && !pg_linetrace.requested))
            continue;
        long bit = event_bit(events, handlers[i].event);
        pg_callback_t *callback = PyObject_New(pg_callback_t, &callback_type);
        if (bit < 0 || !callback) {
            Py_XDECREF(callback);
            Py_DECREF(events);
            return -1;
        }
        callback->vectorcall = handlers[i].handler;
        PyObject *old = PyObject_CallMethod(mon, "register_callback", "ilO", tool_id, bit,
                                            (PyObject *)callback);
        Py_DECREF(callback);
        if (!old) {
            Py_DECREF(events);
            return -1;
        }
        Py_DECREF(old);
        if (handlers[i].local_only)
            line_event_bit = bit;
        else
            *mask |= bit;
    }
    Py_DECREF(events);
    return 0;
}

int pg_backend_install(void)
{
    if (PyType_Ready(&callback_type) < 0)
        return -1;
    PyObject *mon = monitoring();
    if (!mon)
        return -1;
    if (!disable_object && !(disable_object = PyObject_GetAttrString(mon, "DISABLE")))
        return -1;
    if (!missing_object && !(missing_object = PyObject_GetAttrString(mon, "MISSING")))
        return -1;
    if (pg_linetrace.requested && !set_local_events &&
        !(set_local_events = PyObject_GetAttrString(mon, "set_local_events")))
        return -1;
    int id = claim_tool_id(mon);
    if (id < 0)
        return id;
    tool_id = id;
    snprintf(backend_name, sizeof backend_name, "sys.monitoring (tool id %d)", id);
    long mask = 0;
    PyObject *done = NULL;
    if (register_callbacks(mon, &mask) < 0)
        goto error;
    /* Locations disabled in an earlier session (perhaps with other filters)
     * must report again. */
    if (!(done = PyObject_CallMethod(mon, "restart_events", NULL)))
        goto error;
    Py_DECREF(done);
    if (!(done = PyObject_CallMethod(mon, "set_events", "il", tool_id, mask)))
        goto error;
    Py_DECREF(done);
    return 0;
error:
    pg_backend_uninstall();
    return -1;
}

void pg_backend_uninstall(void)
{
    if (tool_id < 0)
        return;
    PyObject *saved = PyErr_GetRaisedException();
    pg_backend_lines_disable_all();
    PyObject *mon = monitoring();
    if (mon) {
        PyObject *events = PyObject_GetAttrString(mon, "events");
        PyObject *r = PyObject_CallMethod(mon, "set_events", "ii", tool_id, 0);
        Py_XDECREF(r);
        for (size_t i = 0; events && i < HANDLER_COUNT; i++) {
            long bit = event_bit(events, handlers[i].event);
            r = bit < 0 ? NULL : PyObject_CallMethod(mon, "register_callback", "ilO", tool_id, bit, Py_None);
            Py_XDECREF(r);
        }
        Py_XDECREF(events);
        r = PyObject_CallMethod(mon, "free_tool_id", "i", tool_id);
        Py_XDECREF(r);
    }
    PyErr_Clear();
    PyErr_SetRaisedException(saved);
    tool_id = -1;
}

int pg_backend_lines_enable(PyCodeObject *code)
{
    if (tool_id < 0 || !set_local_events || !line_event_bit)
        return -1;
    if (!lines_codes && !(lines_codes = PySet_New(NULL))) {
        PyErr_Clear();
        return -1;
    }
    PyObject *done = PyObject_CallFunction(set_local_events, "iOl", tool_id, (PyObject *)code,
                                           line_event_bit);
    if (!done || PySet_Add(lines_codes, (PyObject *)code) < 0) {
        Py_XDECREF(done);
        PyErr_Clear();
        return -1;
    }
    Py_DECREF(done);
    return 0;
}

void pg_backend_lines_disable_all(void)
{
    if (!lines_codes)
        return;
    PyObject *codes = lines_codes;
    lines_codes = NULL;
    PyObject *iterator = PyObject_GetIter(codes);
    for (PyObject *code; iterator && (code = PyIter_Next(iterator)) != NULL; Py_DECREF(code)) {
        PyObject *done = PyObject_CallFunction(set_local_events, "iOi", tool_id, code, 0);
        Py_XDECREF(done);
    }
    Py_XDECREF(iterator);
    Py_DECREF(codes);
    PyErr_Clear();
}

const char *pg_backend_name(void)
{
    return backend_name;
}

#endif /* PG_USE_MONITORING */
