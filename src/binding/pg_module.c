/* pipegauge._core: session control (start/stop/snapshot) and the error
 * types. See src/pipegauge/_core.pyi for the contract. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "pg_binding.h"
#include "pg_cpu.h"
#include "pg_error.h"
#include "pg_format.h"
#include "pg_memory.h"
#include "pg_stages.h"
#include "pg_sampler.h"
#include "pg_stacksampler.h"
#include "pg_got.h"
#include "pg_io.h"
#include "pg_linetrace.h"
#include "pg_tracer.h"

/* CPU-time timer period: at most one signal per kernel tick anyway (the
 * overrun count carries the rest), so a short period costs nothing more. */
#define CPU_PERIOD_NS 1000000u

static struct rusage start_usage; /* process usage at start (GIL) */

PyObject *pg_FormatError;
PyObject *pg_ProfilerBusyError;

PyObject *pg_raise(int code, const char *path)
{
    switch (code) {
    case PG_ERR_NOMEM:
        return PyErr_NoMemory();
    case PG_ERR_IO:
        if (errno == 0)
            errno = EIO;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    case PG_ERR_ARG:
        PyErr_SetString(PyExc_ValueError, pg_error_message(code));
        return NULL;
    default:
        if (path)
            PyErr_Format(pg_FormatError, "%s: %s", path, pg_error_message(code));
        else
            PyErr_SetString(pg_FormatError, pg_error_message(code));
        return NULL;
    }
}

/* Copy a sequence of str into an owned array of C strings. */
static int strings_from_sequence(PyObject *sequence, char ***out, size_t *count)
{
    PyObject *fast = PySequence_Fast(sequence, "expected a sequence of str");
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    char **array = calloc((size_t)n + 1, sizeof(char *));
    if (!array) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    *out = array;
    *count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *text = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(fast, i));
        if (!text || !(array[i] = strdup(text))) {
            Py_DECREF(fast);
            if (text)
                PyErr_NoMemory();
            return -1;
        }
        (*count)++;
    }
    Py_DECREF(fast);
    return 0;
}

static int filter_from_args(pg_filter_t *filter, PyObject *collapse, PyObject *roots,
                            PyObject *ignore)
{
    memset(filter, 0, sizeof *filter);
    if (strings_from_sequence(collapse, &filter->collapse_prefixes, &filter->collapse_count) < 0 ||
        strings_from_sequence(roots, &filter->module_roots, &filter->root_count) < 0 ||
        strings_from_sequence(ignore, &filter->ignore_globs, &filter->ignore_count) < 0)
        return -1;
    return 0;
}

/* numpy's C-API table, when numpy is imported; NULL otherwise (no error). */
static void **numpy_api(void)
{
    static const char *const modules[] = {"numpy._core._multiarray_umath",
                                          "numpy.core._multiarray_umath"};
    PyObject *sys_modules = PyImport_GetModuleDict(); /* borrowed */
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
        PyObject *module = PyDict_GetItemString(sys_modules, modules[i]); /* borrowed */
        PyObject *capsule = module ? PyObject_GetAttrString(module, "_ARRAY_API") : NULL;
        void **api = capsule && PyCapsule_CheckExact(capsule) ? PyCapsule_GetPointer(capsule, NULL)
                                                              : NULL;
        Py_XDECREF(capsule);
        PyErr_Clear();
        if (api)
            return api; /* numpy keeps the table alive while imported */
    }
    return NULL;
}

static PyObject *core_hook_numpy(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    if (!pg_tracer.active)
        Py_RETURN_FALSE;
    void **api = numpy_api();
    return PyBool_FromLong(api && pg_memory_hook_numpy(api));
}

/* Start the resource hooks asked for; -1 with an exception set. */
static int resources_start(int memory, int cpu)
{
    int rc = PG_OK;
    if (memory && (rc = pg_memory_start()) == PG_OK) {
        void **api = numpy_api();
        if (api)
            pg_memory_hook_numpy(api);
    }
    if (rc == PG_OK && cpu && (rc = pg_cpu_start(CPU_PERIOD_NS)) == PG_ERR_LIMIT) {
        /* every real-time signal taken: profile without CPU attribution */
        rc = PG_OK;
        pg_profile_meta_set(&pg_tracer.profile, "cpu_unavailable", "no free real-time signal");
    }
    if (rc < 0) {
        pg_raise(rc, NULL);
        return -1;
    }
    return 0;
}

static uint64_t timeval_ns(struct timeval value)
{
    return (uint64_t)value.tv_sec * 1000000000u + (uint64_t)value.tv_usec * 1000u;
}

/* Process CPU since start and peak RSS, as metadata of profile. */
static void store_usage(pg_profile_t *profile)
{
    struct rusage now;
    if (getrusage(RUSAGE_SELF, &now) != 0)
        return;
    char text[32];
    uint64_t user = timeval_ns(now.ru_utime) - timeval_ns(start_usage.ru_utime);
    uint64_t system = timeval_ns(now.ru_stime) - timeval_ns(start_usage.ru_stime);
    snprintf(text, sizeof text, "%llu", (unsigned long long)user);
    pg_profile_meta_set(profile, "cpu_user_ns", text);
    snprintf(text, sizeof text, "%llu", (unsigned long long)system);
    pg_profile_meta_set(profile, "cpu_sys_ns", text);
    /* ru_maxrss: KiB on Linux, the process's high-water mark */
    snprintf(text, sizeof text, "%llu", (unsigned long long)now.ru_maxrss * 1024u);
    pg_profile_meta_set(profile, "peak_rss", text);
}
/* I/O attribution of the current or last session: 0 on, 1 off by option,
 * a negative pg_error_t when pg_io_begin failed. GIL. */
static int io_status = 1;
/* 1 when the current or last session is in sampling mode (no tracer
 * backend installed; pg_stacksampler.c records stacks). GIL. */
static int sampling;
/* 1 while the stack sampler runs beside the tracer for line heat only
 * (--lines on 3.10/3.11, which have no cheap line events). GIL. */
static int line_sampling;

/* Sampling mode's part of start: the timeline sampler and the stack
 * sampler, with no profile hook and no shadow-stack collectors (memory,
 * CPU and I/O attribution need the tracer's frames). -1 with an exception. */
static int start_sampling(double sample_hz, int cpu_clock, double timeline_hz, int gpu)
{
    int rc = pg_sampler_start(timeline_hz, gpu);
    if (rc == PG_OK && (rc = pg_stacksampler_start(sample_hz, cpu_clock, 0)) < 0) {
        pg_timeline_t timeline;
        pg_node_charges_t charges;
        char status[256];
        pg_sampler_stop(&timeline, &charges, status, sizeof status);
        pg_timeline_release(&timeline);
        pg_node_charges_release(&charges);
    }
    if (rc < 0) {
        pg_profile_t discarded;
        if (pg_tracer_end(&discarded) == PG_OK)
            pg_profile_release(&discarded);
        pg_tracer.active = 0;
        if (rc == PG_ERR_LIMIT)
            PyErr_SetString(PyExc_RuntimeError,
                            "sampling mode needs a free real-time signal and none is left");
        else
            pg_raise(rc, NULL);
        return -1;
    }
    getrusage(RUSAGE_SELF, &start_usage);
    io_status = 1;
    sampling = 1;
    return 0;
}

/* Line heat options (--lines): patterns from a sequence of str. 0, or -1
 * with an exception set. */
static int lines_configure(int lines, PyObject *lines_for, double threshold)
{
    PyObject *sequence = PySequence_Fast(lines_for, "lines_for must be a sequence of str");
    if (!sequence)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    const char **patterns = PyMem_Calloc((size_t)count + 1, sizeof *patterns);
    int rc = patterns ? 0 : -1;
    if (!patterns)
        PyErr_NoMemory();
    for (Py_ssize_t i = 0; rc == 0 && i < count; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, i); /* borrowed */
        if (!PyUnicode_Check(item) || !(patterns[i] = PyUnicode_AsUTF8(item))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "lines_for must be a sequence of str");
            rc = -1;
        }
    }
    int engine_rc;
    if (rc == 0 && (engine_rc = pg_linetrace_configure(lines, patterns, (size_t)count,
                                                       threshold)) < 0) {
        pg_raise(engine_rc, NULL);
        rc = -1;
    }
    PyMem_Free(patterns);
    Py_DECREF(sequence);
    return rc;
}

static PyObject *core_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"builtins",     "exact_builtins", "collapse_prefixes",
                               "module_roots", "ignore_globs",   "memory",
                               "cpu",          "timeline_hz",    "gpu",
                               "io",           "lines",          "lines_for",
                               "lines_threshold", "sample_hz",   "sample_clock",
                               "line_sample_hz", NULL};
    int builtins = 1, exact_builtins = 0, memory = 1, cpu = 1, gpu = 1, io = 1, lines = 0;
    double timeline_hz = 0.0, lines_threshold = 0.0, sample_hz = 0.0, line_sample_hz = 0.0;
    const char *sample_clock = "wall";
    PyObject *empty = PyTuple_New(0);
    PyObject *collapse = empty, *roots = empty, *ignore = empty, *lines_for = empty;
    if (!empty)
        return NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$ppOOOppdpppOddsd:start", keywords, &builtins,
                                     &exact_builtins, &collapse, &roots, &ignore, &memory,
                                     &cpu, &timeline_hz, &gpu, &io, &lines, &lines_for,
                                     &lines_threshold, &sample_hz, &sample_clock,
                                     &line_sample_hz))
        goto error;
    int cpu_clock = strcmp(sample_clock, "cpu") == 0;
    if (!cpu_clock && strcmp(sample_clock, "wall") != 0) {
        PyErr_SetString(PyExc_ValueError, "sample_clock must be 'wall' or 'cpu'");
        goto error;
    }
    if (!(line_sample_hz >= 0.0 && line_sample_hz <= PG_STACK_MAX_HZ)) {
        PyErr_SetString(PyExc_ValueError, "line_sample_hz must be between 0 and 10000");
        goto error;
    }
    if (!(sample_hz >= 0.0 && sample_hz <= PG_STACK_MAX_HZ)) {
        PyErr_SetString(PyExc_ValueError, "sample_hz must be between 0 and 10000 (0: deterministic)");
        goto error;
    }
    if (!(lines_threshold >= 0.0 && lines_threshold <= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "lines_threshold must be between 0 and 1");
        goto error;
    }
    if (!(timeline_hz >= 0.0 && timeline_hz <= 10000.0)) {
        PyErr_SetString(PyExc_ValueError, "timeline_hz must be between 0 and 10000");
        goto error;
    }
    if (pg_tracer.active) {
        PyErr_SetString(PyExc_RuntimeError, "pipegauge is already profiling");
        goto error;
    }
    if (pg_tracer.extra_index < 0 && (pg_tracer.extra_index = pg_code_extra_index_request(NULL)) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no free code object extra slot for pipegauge");
        goto error;
    }
    if (lines_configure(lines, lines_for, lines_threshold) < 0)
        goto error;
    pg_filter_t filter;
    if (filter_from_args(&filter, collapse, roots, ignore) < 0) {
        pg_filter_release(&filter);
        goto error;
    }
    int rc = pg_tracer_begin(builtins, exact_builtins, &filter);
    if (rc < 0) {
        pg_filter_release(&filter);
        pg_raise(rc, NULL);
        goto error;
    }
    sampling = 0;
    if (sample_hz > 0.0) {
        if (start_sampling(sample_hz, cpu_clock, timeline_hz, gpu) < 0)
            goto error;
        Py_DECREF(empty);
        Py_RETURN_NONE;
    }
    if (pg_calibrate_untraced() < 0) {
        pg_tracer.active = 0;
        goto error;
    }
    rc = pg_backend_install();
    if (rc < 0) {
        pg_tracer.active = 0;
        if (rc == -2) { /* busy: keep the message, change the type */
            PyObject *type, *value, *traceback;
            PyErr_Fetch(&type, &value, &traceback);
            PyErr_SetObject(pg_ProfilerBusyError, value);
            Py_XDECREF(type), Py_XDECREF(value), Py_XDECREF(traceback);
        }
        goto error;
    }
    if (pg_calibrate() < 0 || (rc = pg_tracer_reset()) < 0) {
        if (!PyErr_Occurred())
            pg_raise(rc, NULL);
        pg_backend_uninstall();
        pg_tracer.active = 0;
        goto error;
    }
    pg_linetrace_reset(); /* line events from here on, not in calibration */
    getrusage(RUSAGE_SELF, &start_usage);
    /* The sampler last, so calibration is not sampled and the node indexes
     * it sees belong to the profile that stop returns. */
    int started = resources_start(memory, cpu) == 0;
    if (started && (rc = pg_sampler_start(timeline_hz, gpu)) < 0) {
        pg_raise(rc, NULL);
        started = 0;
    }
    if (!started) {
        pg_cpu_stop();
        pg_memory_stop();
        pg_backend_uninstall();
        pg_profile_t discarded;
        if (pg_tracer_end(&discarded) == PG_OK)
            pg_profile_release(&discarded);
        goto error;
    }
    /* Last, so calibration never runs hooked. A platform without GOT
     * redirection runs without I/O attribution (io_status says why). */
    io_status = io ? pg_io_begin() : 1;
    /* Line heat from samples beside the tracer: the run goes on without it
     * when no signal or thread can be had (lines.failures says so). */
    line_sampling = 0;
    if (line_sample_hz > 0.0) {
        if (pg_stacksampler_start(line_sample_hz, 0, 1) == PG_OK)
            line_sampling = 1;
        else
            pg_profile_meta_set(&pg_tracer.profile, "lines.failures", "no line sampler");
    }
    Py_DECREF(empty);
    Py_RETURN_NONE;
error:
    Py_DECREF(empty);
    return NULL;
}

static PyObject *core_stop(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    if (!pg_tracer.active) {
        PyErr_SetString(PyExc_RuntimeError, "pipegauge is not profiling");
        return NULL;
    }
    if (sampling) {
        pg_stacksampler_stop(); /* drains the rings into the live profile */
    } else {
        if (line_sampling) /* drains the last samples into the line table */
            pg_stacksampler_stop();
        line_sampling = 0;
        pg_linetrace_finish();
        pg_backend_uninstall();
        pg_profile_meta_set(&pg_tracer.profile, "mode", "deterministic");
    }
    pg_cpu_stop();
    pg_timeline_t timeline;
    pg_node_charges_t charges;
    char gpu_status[256];
    pg_sampler_stop(&timeline, &charges, gpu_status, sizeof gpu_status);
    /* Before pg_tracer_end: the rows need the threads' session stacks. Out
     * of memory here loses only the rows. */
    (void)pg_io_end(&pg_tracer.profile);
    pg_profile_t profile;
    int rc = pg_tracer_end(&profile);
    if (rc == PG_OK && sampling)
        profile.run.threads = pg_stacksampler_threads();
    uint64_t untracked = pg_memory_untracked();
    pg_memory_stop();
    if (rc == PG_OK) {
        /* The sampler's memory counts as the profiler's own. */
        profile.run.profiler_memory += pg_timeline_memory(&timeline) +
                                       (uint64_t)charges.size * 2 * sizeof(uint64_t);
        rc = pg_sampler_attach(&profile, &timeline, &charges, gpu_status);
        if (rc < 0)
            pg_profile_release(&profile);
    }
    pg_timeline_release(&timeline);
    pg_node_charges_release(&charges);
    if (rc < 0) {
        pg_tracer.active = 0;
        return pg_raise(rc, NULL);
    }
    store_usage(&profile);
    if (untracked) {
        char text[32];
        snprintf(text, sizeof text, "%llu", (unsigned long long)untracked);
        pg_profile_meta_set(&profile, "memory_untracked_blocks", text);
    }
    return pg_profile_wrap(&profile);
}

static PyObject *core_snapshot(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    if (!pg_tracer.active) {
        PyErr_SetString(PyExc_RuntimeError, "pipegauge is not profiling");
        return NULL;
    }
    if (sampling || line_sampling)
        pg_stacksampler_drain();
    pg_profile_t copy;
    int rc = pg_profile_copy(&copy, &pg_tracer.profile);
    if (rc < 0)
        return pg_raise(rc, NULL);
    pg_clock_mark_t now = pg_clock_mark();
    uint64_t now_ns = now.ns;
    copy.run.ns_per_unit = pg_clock_ns_per_tick(&now);
    copy.run.event_cost_ns = pg_tracer.event_cost_ticks * copy.run.ns_per_unit;
    copy.run.events = pg_tracer.events;
    copy.run.start_epoch_ns = pg_tracer.start_epoch_ns;
    copy.run.duration_ns = now_ns - pg_tracer.start_mark.ns;
    copy.run.profiler_memory = pg_tracer_memory();
    copy.run.lost_events = pg_tracer.lost;
    copy.run.unmatched_events = pg_tracer.unmatched;
    pg_stage_table_release(&copy.stages);
    if ((rc = pg_stages_copy(&copy.stages)) < 0) {
        pg_profile_release(&copy);
        return pg_raise(rc, NULL);
    }
    store_usage(&copy);
    pg_profile_meta_set(&copy, "mode", sampling ? "sample" : "deterministic");
    /* The timeline so far; GPU attribution is charged only at stop. */
    pg_timeline_t timeline;
    pg_node_charges_t none = {0};
    char gpu_status[256];
    pg_sampler_status(gpu_status, sizeof gpu_status);
    if ((rc = pg_sampler_snapshot(&timeline)) < 0 ||
        (rc = pg_sampler_attach(&copy, &timeline, &none, gpu_status)) < 0) {
        pg_timeline_release(&timeline);
        pg_profile_release(&copy);
        return pg_raise(rc, NULL);
    }
    (void)pg_io_collect(&copy); /* out of memory loses only the I/O rows */
    return pg_profile_wrap(&copy);
}

static PyObject *core_active(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyBool_FromLong(pg_tracer.active);
}

/* Events handled so far this session (0 when not running): the progress
 * line's rate. Reads one counter the tracer updates under the GIL we hold. */
static PyObject *core_event_count(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyLong_FromUnsignedLongLong(pg_tracer.active ? pg_tracer.events : 0);
}

static PyObject *core_backend(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyUnicode_FromString(pg_backend_name());
}

/* Test hooks for the frame accumulators: what a GIL-less hook does, from
 * Python, so the attribution machinery can be tested on real threads. */
static PyObject *core_acc_enable(PyObject *module, PyObject *args)
{
    (void)module;
    unsigned int slots;
    if (!PyArg_ParseTuple(args, "I:_acc_enable", &slots))
        return NULL;
    if (!pg_tracer.active) {
        PyErr_SetString(PyExc_RuntimeError, "pipegauge is not profiling");
        return NULL;
    }
    int rc = pg_tracer_acc_enable(slots);
    if (rc < 0)
        return pg_raise(rc, NULL);
    Py_RETURN_NONE;
}

static PyObject *core_acc_add(PyObject *module, PyObject *args)
{
    (void)module;
    unsigned int slot;
    unsigned long long value;
    if (!PyArg_ParseTuple(args, "IK:_acc_add", &slot, &value))
        return NULL;
    if (slot >= PG_ACC_COUNT || slot == PG_ACC_MEM_ENTRY || slot == PG_ACC_MEM_PEAK) {
        PyErr_SetString(PyExc_ValueError, "not an additive accumulator slot");
        return NULL;
    }
    pg_tracer_acc_add(slot, value);
    Py_RETURN_NONE;
}

static PyObject *core_io_status(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    if (io_status == 0)
        return PyUnicode_FromString("on");
    if (io_status > 0)
        return PyUnicode_FromString("off");
    return PyUnicode_FromFormat("unavailable (%s)", io_status == PG_ERR_ARG
                                                         ? "no GOT redirection on this platform"
                                                         : pg_error_message(io_status));
}

/* The calling thread's kernel I/O counters (for stage boundaries). */
static PyObject *core_thread_io(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    pg_proc_io_t io;
    int rc = pg_io_thread_counters(&io);
    if (rc < 0)
        return pg_raise(rc, "/proc/thread-self/io");
    return Py_BuildValue("{sKsKsKsKsKsK}", "rchar", (unsigned long long)io.rchar, "wchar",
                         (unsigned long long)io.wchar, "syscr", (unsigned long long)io.syscr,
                         "syscw", (unsigned long long)io.syscw, "read_bytes",
                         (unsigned long long)io.read_bytes, "write_bytes",
                         (unsigned long long)io.write_bytes);
}

/* Test and diagnostic hook: the state of the GOT redirection now. */
static PyObject *core_io_state(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    pg_got_stats_t stats;
    pg_got_stats_get(&stats);
    return Py_BuildValue("{sisKsKsKsKsK}", "installed", pg_got_installed(), "objects",
                         (unsigned long long)stats.objects, "slots",
                         (unsigned long long)stats.slots, "foreign",
                         (unsigned long long)stats.foreign, "failures",
                         (unsigned long long)stats.failures, "rescans",
                         (unsigned long long)stats.rescans);
}

static PyMethodDef core_methods[] = {
    {"_hook_numpy", core_hook_numpy, METH_NOARGS,
     "_hook_numpy() -> bool: attribute numpy array memory (after numpy is imported)"},
    {"_acc_enable", core_acc_enable, METH_VARARGS, "_acc_enable(slots): test hook"},
    {"_acc_add", core_acc_add, METH_VARARGS, "_acc_add(slot, value): test hook"},
    {"start", (PyCFunction)(void (*)(void))core_start, METH_VARARGS | METH_KEYWORDS,
     "start(*, builtins=True, exact_builtins=False, collapse_prefixes=(), module_roots=(), "
     "ignore_globs=(), memory=True, cpu=True, io=True, timeline_hz=0.0, gpu=True, "
     "sample_hz=0.0, sample_clock='wall', line_sample_hz=0.0)"},
    {"_io_state", core_io_state, METH_NOARGS,
     "_io_state() -> dict: GOT redirection state (installed, objects, slots, foreign, "
     "failures, rescans); diagnostics and tests"},
    {"io_status", core_io_status, METH_NOARGS,
     "io_status() -> str: 'on', 'off' or 'unavailable (why)' for the current or last session"},
    {"thread_io", core_thread_io, METH_NOARGS,
     "thread_io() -> dict: the calling thread's kernel I/O counters"},
    {"stop", core_stop, METH_NOARGS, "stop() -> Profile"},
    {"snapshot", core_snapshot, METH_NOARGS, "snapshot() -> Profile"},
    {"active", core_active, METH_NOARGS, "active() -> bool"},
    {"backend", core_backend, METH_NOARGS, "backend() -> str"},
    {"event_count", core_event_count, METH_NOARGS, "event_count() -> int"},
    {"export", (PyCFunction)(void (*)(void))pg_core_export, METH_VARARGS | METH_KEYWORDS,
     "export(profile, format, path, *, correct=True): write an export file (streaming, C)"},
    {"prune", (PyCFunction)(void (*)(void))pg_core_prune, METH_VARARGS | METH_KEYWORDS,
     "prune(profile, *, min_fraction, max_nodes) -> Profile: merge small nodes into 'other'"},
    {"fit", (PyCFunction)(void (*)(void))pg_core_fit, METH_VARARGS | METH_KEYWORDS,
     "fit(sizes, values, target, *, floor=0.0, min_noise=0.0, bootstrap=200, seed=0, level=0.9, "
     "location='median') -> dict"},
    {"stage_intern", pg_core_stage_intern, METH_O, "stage_intern(name) -> int"},
    {"stage_call", pg_core_stage_call, METH_VARARGS,
     "stage_call(stage, func, args, kwargs): call func as one invocation of stage"},
    {"stage_enter", pg_core_stage_enter, METH_O, "stage_enter(stage): a with-block begins"},
    {"stage_exit", pg_core_stage_exit, METH_VARARGS, "stage_exit(stage, failed)"},
    {"stage_add", pg_core_stage_add, METH_VARARGS,
     "stage_add(stage, records_in, records_out, bytes): explicit counts"},
    {"stage_reset", pg_core_stage_reset, METH_NOARGS, "stage_reset(): zero the live stage table"},
    {"stage_snapshot", pg_core_stage_snapshot, METH_NOARGS,
     "stage_snapshot() -> Profile holding only the live stage table"},
    {"stage_options", (PyCFunction)(void (*)(void))pg_core_stage_options,
     METH_VARARGS | METH_KEYWORDS, "stage_options(*, cpu, io)"},
    {"rank_test", pg_core_rank_test, METH_VARARGS,
     "rank_test(base_samples, current_samples, base_speeds=None, current_speeds=None) -> dict: "
     "Mann-Whitney U on pooled samples, each divided by its run's speed"},
    {"sample_quantiles", pg_core_sample_quantiles, METH_VARARGS,
     "sample_quantiles(samples, qs) -> list: quantiles (ns) of pooled samples"},
    {"merge_samples", pg_core_merge_samples, METH_VARARGS,
     "merge_samples(samples) -> bytes: one sample holding every observation"},
    {"bootstrap_ratio", (PyCFunction)(void (*)(void))pg_core_bootstrap_ratio,
     METH_VARARGS | METH_KEYWORDS,
     "bootstrap_ratio(base, current, *, resamples=2000, confidence=0.95, seed=0) -> (estimate, low, high)"},
    {"bh_adjust", pg_core_bh_adjust, METH_VARARGS,
     "bh_adjust(p_values) -> list: Benjamini-Hochberg adjusted p-values"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "pipegauge._core",
    "The C engine of pipegauge: tracer, call tree and profile files.", -1, core_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *module = PyModule_Create(&core_module);
    if (!module)
        return NULL;
    pg_clock_init(); /* the TSC rate is measured from here on */
    pg_FormatError = PyErr_NewExceptionWithDoc(
        "pipegauge._core.FormatError", "A profile file is not readable.", PyExc_ValueError, NULL);
    pg_ProfilerBusyError = PyErr_NewExceptionWithDoc(
        "pipegauge._core.ProfilerBusyError",
        "Another tool owns the hook pipegauge needs.", PyExc_RuntimeError, NULL);
    PyObject *version = Py_BuildValue("(ii)", PG_FORMAT_MAJOR, PG_FORMAT_MINOR);
    PyObject *slots = Py_BuildValue(
        "{sisisisisisisisisi}", "io.read_bytes", PG_ACC_IO_READ_BYTES, "io.write_bytes",
        PG_ACC_IO_WRITE_BYTES, "io.read_ops", PG_ACC_IO_READ_OPS, "io.write_ops",
        PG_ACC_IO_WRITE_OPS, "io.ns", PG_ACC_IO_NS, "mem.alloc_bytes", PG_ACC_MEM_ALLOC_BYTES,
        "mem.alloc_count", PG_ACC_MEM_ALLOC_COUNT, "mem.freed_bytes", PG_ACC_MEM_FREED_BYTES,
        "cpu.ns", PG_ACC_CPU_NS);
    if (!slots || PyModule_AddObject(module, "_ACC_SLOTS", slots) < 0) {
        Py_XDECREF(slots);
        Py_XDECREF(version);
        Py_DECREF(module);
        return NULL;
    }
    if (!version || !pg_FormatError || !pg_ProfilerBusyError || PyType_Ready(&pg_ProfileType) < 0 ||
        PyModule_AddObjectRef(module, "FormatError", pg_FormatError) < 0 ||
        PyModule_AddObjectRef(module, "ProfilerBusyError", pg_ProfilerBusyError) < 0 ||
        PyModule_AddObjectRef(module, "Profile", (PyObject *)&pg_ProfileType) < 0 ||
        PyModule_AddObjectRef(module, "FORMAT_VERSION", version) < 0 ||
        pg_stage_types_ready(module) < 0) {
        Py_XDECREF(version);
        Py_DECREF(module);
        return NULL;
    }
    Py_DECREF(version);
    return module;
}
