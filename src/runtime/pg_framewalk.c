/* The stack sampler's frame walk (see pg_stacksampler.h). This file alone
 * builds with Py_BUILD_CORE, for the interpreter-frame layouts of 3.11+;
 * every layout difference lives in pg_compat.h. It uses no Python API but
 * the thread-local thread-state read, so it is async-signal-safe. */
#define Py_BUILD_CORE 1
#define PG_COMPAT_FRAMES 1
#include "pg_compat.h"

#include "pg_stacksampler.h"

uint32_t pg_framewalk_self(uint64_t *out, uint32_t max_frames, int *truncated)
{
    /* A TSS read (pthread_getspecific): no lock, no allocation. NULL for a
     * thread that never ran Python, or whose thread state is gone. */
    PyThreadState *tstate = PyGILState_GetThisThreadState();
    uint32_t count = 0;
    *truncated = 0;
    if (!tstate)
        return 0;
    /* The chain is changed only by this thread, which this handler has
     * interrupted, but not always in an order that keeps it consistent: the
     * top link can be stack garbage for a few instructions (see the fault
     * guard in pg_stacksampler.c, which catches a walk that faults). Here:
     * a bounded number of hops (garbage can form a cycle) and only frames
     * whose code really is a code object. */
    uint32_t hops = 0;
    for (pg_raw_frame_t *frame = pg_raw_frame_top(tstate); frame && hops < 4 * max_frames + 64;
         frame = pg_raw_frame_back(frame), hops++) {
        uint32_t instruction;
        PyCodeObject *code = pg_raw_frame_code(frame, &instruction);
        if (!code || Py_TYPE(code) != &PyCode_Type)
            continue;
        if (count == max_frames) {
            *truncated = 1;
            break;
        }
        out[2 * count] = (uint64_t)(uintptr_t)code;
        out[2 * count + 1] = instruction;
        count++;
    }
    return count;
}
