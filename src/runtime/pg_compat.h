/* Every CPython version difference the runtime needs, in one place.
 *
 * 3.12+ : sys.monitoring with C vectorcall callbacks (PG_USE_MONITORING).
 * 3.10/11: a C Py_tracefunc installed per thread state.
 * Free-threaded builds are not supported: the tracer relies on the GIL to
 * serialise access to the shared call tree.
 */
#ifndef PG_COMPAT_H
#define PG_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#if PY_VERSION_HEX < 0x030A0000 || PY_VERSION_HEX >= 0x030E0000
#error "pipegauge supports CPython 3.10 to 3.13"
#endif
#ifdef Py_GIL_DISABLED
#error "pipegauge does not support free-threaded CPython builds yet"
#endif

#if PY_VERSION_HEX >= 0x030C0000
#define PG_USE_MONITORING 1
#define pg_code_extra_index_request PyUnstable_Eval_RequestCodeExtraIndex
#define pg_code_extra_set PyUnstable_Code_SetExtra
#else
#define PG_USE_MONITORING 0
#define pg_code_extra_index_request _PyEval_RequestCodeExtraIndex
#define pg_code_extra_set _PyCode_SetExtra
#endif

/* Read a code object's extra slot without the API call: the API looks the
 * interpreter up through thread-local storage on every call, which costs
 * more than the rest of an event. co_extra points to CPython's
 * _PyCodeObjectExtra, laid out { Py_ssize_t size; void *extras[]; } in
 * every supported version. Writes still go through the API. */
typedef struct pg_code_extra_layout {
    Py_ssize_t size;
    void *extras[1];
} pg_code_extra_layout_t;

static inline void *pg_code_extra_fast(PyCodeObject *code, Py_ssize_t index)
{
    const pg_code_extra_layout_t *extra = (const pg_code_extra_layout_t *)code->co_extra;
    if (!extra || index >= extra->size)
        return NULL;
    return extra->extras[index];
}

/* Borrowed code object of a frame (the frame keeps it alive). */
static inline PyCodeObject *pg_frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyCodeObject *code = PyFrame_GetCode(frame);
    Py_DECREF(code);
    return code;
#else
    return frame->f_code;
#endif
}

/* Borrowed qualified name of a code object (plain name on 3.10, which has no
 * co_qualname). */
static inline PyObject *pg_code_qualname(PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
    return code->co_qualname;
#else
    return code->co_name;
#endif
}

#endif
