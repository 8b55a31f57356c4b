/* Backend for CPython 3.10/3.11: a C Py_tracefunc on every thread state.
 *
 * Threads that exist at start get the function directly; threads started
 * later get it through threading.setprofile(): their bootstrap installs our
 * hook object as a Python-level profile function, and the hook's first call
 * swaps itself for the C function.
 */
#include "pg_tracer.h"

#if !PG_USE_MONITORING

static PyObject *previous_thread_hook; /* threading._profile_hook before us */
static int installed;

/* Python frames are keyed by their frame object, which lives until the
 * frame is done (across generator resumes too), so an exit compares one
 * pointer and needs no code lookup. */
static int on_event(PyObject *unused, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)unused;
    switch (what) {
    case PyTrace_CALL: {
        uint32_t func = pg_codemap_code(pg_frame_code(frame));
        if (func == PG_CODE_FILTERED)
            return 0;
        pg_thread_t *thread = pg_thread_get();
        if (PG_LIKELY(thread && func != PG_NONE))
            pg_tracer_push(thread, frame, NULL, func);
        else
            pg_tracer.lost++;
        return 0;
    }
    case PyTrace_RETURN: {
        uint64_t now = pg_clock_ticks();
        pg_thread_t *thread = pg_thread_get();
        if (PG_UNLIKELY(!thread))
            return 0;
        /* arg is NULL when the frame is left by an exception. */
        int by_exception = arg == NULL;
        if (PG_LIKELY(thread->depth && thread->frames[thread->depth - 1].key == frame)) {
            pg_tracer_pop(thread, now, by_exception);
            return 0;
        }
        if (pg_codemap_code(pg_frame_code(frame)) != PG_CODE_FILTERED &&
            !pg_tracer_pop_deep(thread, frame, now, by_exception))
            pg_tracer.unmatched++;
        return 0;
    }
    case PyTrace_C_CALL: {
        if (!pg_tracer.builtins || !PyCFunction_Check(arg))
            return 0;
        pg_thread_t *thread = pg_thread_get();
        if (PG_UNLIKELY(!thread))
            return 0;
        /* The caller is traced when it is our top frame; otherwise ask. */
        int traced_caller = thread->depth && thread->frames[thread->depth - 1].key == frame;
        if (!traced_caller && pg_codemap_code(pg_frame_code(frame)) == PG_CODE_FILTERED)
            return 0;
        uint32_t func = pg_codemap_builtin(arg, NULL);
        if (PG_LIKELY(func != PG_NONE))
            pg_tracer_push(thread, arg, frame, func);
        return 0;
    }
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION: {
        uint64_t now = pg_clock_ticks();
        pg_thread_t *thread = pg_thread_get();
        if (!thread || !thread->depth)
            return 0;
        pg_frame_t *top = &thread->frames[thread->depth - 1];
        if (top->key == arg && top->caller == frame)
            pg_tracer_pop(thread, now, what == PyTrace_C_EXCEPTION);
        return 0;
    }
    default:
        return 0;
    }
}

/* threading's per-thread bootstrap calls sys.setprofile(hook); the hook's
 * first call installs the C function for that thread. */
static PyObject *hook_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self, (void)args, (void)kwargs;
    if (installed)
        PyEval_SetProfile(on_event, NULL);
    else
        PyEval_SetProfile(NULL, NULL);
    Py_RETURN_NONE;
}

static PyTypeObject hook_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipegauge._core._ThreadHook",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_call = hook_call,
};

static int set_thread_hook(PyObject *hook)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *r = PyObject_CallMethod(threading, "setprofile", "O", hook);
    Py_DECREF(threading);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int pg_backend_install(void)
{
    PyInterpreterState *interp = PyThreadState_GetInterpreter(PyThreadState_Get());
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        if (ts->c_profilefunc && ts->c_profilefunc != on_event) {
            PyErr_SetString(PyExc_RuntimeError,
                            "another profiler (sys.setprofile or cProfile) is active; "
                            "on Python < 3.12 only one can run at a time");
            return -2;
        }
    }
    if (PyType_Ready(&hook_type) < 0)
        return -1;
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    Py_XDECREF(previous_thread_hook);
    previous_thread_hook = PyObject_GetAttrString(threading, "_profile_hook");
    Py_DECREF(threading);
    if (!previous_thread_hook)
        PyErr_Clear();
    PyObject *hook = PyObject_New(PyObject, &hook_type);
    if (!hook)
        return -1;
    int rc = set_thread_hook(hook);
    Py_DECREF(hook);
    if (rc < 0)
        return -1;
    installed = 1;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts))
        if (_PyEval_SetProfile(ts, on_event, NULL) < 0) {
            pg_backend_uninstall();
            return -1;
        }
    return 0;
}

void pg_backend_uninstall(void)
{
    if (!installed)
        return;
    installed = 0;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyInterpreterState *interp = PyThreadState_GetInterpreter(PyThreadState_Get());
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts))
        if (ts->c_profilefunc == on_event && _PyEval_SetProfile(ts, NULL, NULL) < 0)
            PyErr_Clear();
    if (set_thread_hook(previous_thread_hook ? previous_thread_hook : Py_None) < 0)
        PyErr_Clear();
    Py_CLEAR(previous_thread_hook);
    PyErr_Restore(type, value, traceback);
}

const char *pg_backend_name(void)
{
    return "PyEval_SetProfile";
}

uint64_t pg_backend_memory(void)
{
    return 0;
}

#endif /* !PG_USE_MONITORING */
