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

/* Frame access for the stack sampler (pg_framewalk.c), which walks the
 * calling thread's own frame chain from a signal handler: plain memory
 * reads, no Python API, no allocation. Only a file that defines
 * Py_BUILD_CORE and PG_COMPAT_FRAMES before including this header gets
 * them (the frame structs of 3.11+ are in the internal headers).
 *
 * 3.10   : PyFrameObject chain from tstate->frame; f_lasti counts code units.
 * 3.11/12: _PyInterpreterFrame chain from tstate->cframe->current_frame;
 *          prev_instr is the instruction running; incomplete frames (not yet
 *          past their RESUME prologue) and, on 3.12, C-stack shim frames are
 *          skipped.
 * 3.13   : the chain starts at tstate->current_frame; f_executable may be
 *          something other than a code object (skipped); instr_ptr. */
#ifdef PG_COMPAT_FRAMES
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
typedef _PyInterpreterFrame pg_raw_frame_t;
#else
typedef PyFrameObject pg_raw_frame_t;
#endif

static inline pg_raw_frame_t *pg_raw_frame_top(PyThreadState *tstate)
{
#if PY_VERSION_HEX >= 0x030D0000
    return tstate->current_frame;
#elif PY_VERSION_HEX >= 0x030B0000
    return tstate->cframe ? tstate->cframe->current_frame : NULL;
#else
    return tstate->frame;
#endif
}

static inline pg_raw_frame_t *pg_raw_frame_back(pg_raw_frame_t *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return frame->previous;
#else
    return frame->f_back;
#endif
}

/* The code object frame runs (borrowed: the frame holds a strong reference)
 * and its instruction index in code units, or NULL for a frame to skip. */
static inline PyCodeObject *pg_raw_frame_code(pg_raw_frame_t *frame, uint32_t *instruction)
{
#if PY_VERSION_HEX >= 0x030B0000
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *executable = frame->f_executable;
    if (!executable || Py_TYPE(executable) != &PyCode_Type)
        return NULL;
    PyCodeObject *code = (PyCodeObject *)executable;
    const _Py_CODEUNIT *at = frame->instr_ptr;
#else
    PyCodeObject *code = frame->f_code;
    const _Py_CODEUNIT *at = frame->prev_instr;
#endif
#if PY_VERSION_HEX >= 0x030C0000
    if (frame->owner == FRAME_OWNED_BY_CSTACK)
        return NULL;
#endif
    if (!code)
        return NULL;
    const _Py_CODEUNIT *first = _PyCode_CODE(code);
    if (frame->owner != FRAME_OWNED_BY_GENERATOR && at < first + code->_co_firsttraceable)
        return NULL; /* incomplete: still in its prologue */
    *instruction = at >= first ? (uint32_t)(at - first) : 0;
    return code;
#else
    PyCodeObject *code = frame->f_code;
    *instruction = frame->f_lasti > 0 ? (uint32_t)frame->f_lasti : 0;
    return code;
#endif
}
#endif /* PG_COMPAT_FRAMES */

/* Bytes per bytecode code unit (an opcode and its argument) in every
 * supported version; instruction indexes are in these units. */
#define PG_CODE_UNIT_SIZE 2

/* Code-object watchers (3.12+): the stack sampler resolves pending samples
 * before a code object they name is destroyed. */
#if PY_VERSION_HEX >= 0x030C0000
#define PG_HAVE_CODE_WATCHER 1
#else
#define PG_HAVE_CODE_WATCHER 0
#endif

/* 1 while the interpreter is finalizing (no thread may take the GIL). */
static inline int pg_is_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

#endif
