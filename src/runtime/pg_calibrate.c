/* Measuring the tracer's own cost per event, so reported times can be
 * corrected and every profile can state its overhead.
 *
 * A loop calling an empty function is timed without the tracer (before the
 * backend is installed) and with it; the difference divided by the events
 * the traced runs produced is the cost of one event, CPython's dispatch
 * included. The minimum of several runs is used on both sides (noise only
 * ever adds time). Done once per process; later sessions reuse the value.
 */
#include "pg_tracer.h"

#define CALIBRATION_CALLS 5000
#define CALIBRATION_RUNS 5

static const char calibration_source[] =
    "def leaf():\n"
    "    pass\n"
    "def loop(n):\n"
    "    f = leaf\n"
    "    for _ in range(n):\n"
    "        f()\n";

static PyObject *calibration_loop; /* strong; the loop function */
static double measured_untraced = -1.0; /* min ticks per run, untraced */
static double cached_cost = -1.0;       /* ticks per event, once measured */

static PyObject *load_loop(void)
{
    PyObject *code = Py_CompileString(calibration_source, "<pipegauge-calibration>",
                                      Py_file_input);
    if (!code)
        return NULL;
    PyObject *globals = PyDict_New();
    PyObject *result = NULL;
    if (globals && PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0)
        result = PyEval_EvalCode(code, globals, globals);
    Py_DECREF(code);
    Py_XDECREF(result);
    PyObject *loop = result ? PyDict_GetItemString(globals, "loop") : NULL;
    Py_XINCREF(loop);
    Py_XDECREF(globals);
    return loop;
}

/* Minimum ticks of CALIBRATION_RUNS runs; events per run into *events. */
static double time_loop(uint64_t *events)
{
    double best = -1.0;
    for (int run = 0; run < CALIBRATION_RUNS; run++) {
        uint64_t events_before = pg_tracer.events;
        uint64_t start = pg_clock_ticks();
        PyObject *r = PyObject_CallFunction(calibration_loop, "i", CALIBRATION_CALLS);
        uint64_t elapsed = pg_clock_ticks() - start;
        if (!r)
            return -1.0;
        Py_DECREF(r);
        if (events)
            *events = pg_tracer.events - events_before;
        if (best < 0 || (double)elapsed < best)
            best = (double)elapsed;
    }
    return best;
}

int pg_calibrate_untraced(void)
{
    if (cached_cost >= 0.0)
        return 0;
    if (!calibration_loop && !(calibration_loop = load_loop()))
        return -1;
    measured_untraced = time_loop(NULL);
    return measured_untraced < 0 ? -1 : 0;
}

int pg_calibrate(void)
{
    if (cached_cost < 0.0) {
        uint64_t events = 0;
        double traced = time_loop(&events);
        if (traced < 0)
            return -1;
        double cost = events ? (traced - measured_untraced) / (double)events : 0.0;
        cached_cost = cost > 0.0 ? cost : 0.0;
    }
    pg_tracer.event_cost_ticks = cached_cost;
    return 0;
}
