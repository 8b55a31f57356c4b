/* The binding layer: the only code that creates Python objects from engine
 * data or raises. Engine error codes become exceptions in pg_raise() only.
 */
#ifndef PG_BINDING_H
#define PG_BINDING_H

#include "pg_compat.h"
#include "pg_profile.h"

extern PyObject *pg_FormatError;       /* pipegauge._core.FormatError */
extern PyObject *pg_ProfilerBusyError; /* pipegauge._core.ProfilerBusyError */
extern PyTypeObject pg_ProfileType;

/* Set the exception for engine error code; path names the file involved
 * (or NULL). Always returns NULL, for `return pg_raise(...)`. */
PyObject *pg_raise(int code, const char *path);

/* New Profile object taking ownership of *profile (left zeroed). */
PyObject *pg_profile_wrap(pg_profile_t *profile);

/* The profile inside a Profile object (borrowed, lives as long as object);
 * NULL with TypeError set when object is not a Profile. */
const pg_profile_t *pg_profile_of(PyObject *object);

/* Module functions defined outside pg_module.c (see _core.pyi). */
PyObject *pg_core_export(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *pg_core_prune(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *pg_core_fit(PyObject *module, PyObject *args, PyObject *kwargs);

/* Pipeline stages (pg_stage_binding.c, pg_stage_async.c). */
PyObject *pg_core_stage_intern(PyObject *module, PyObject *name);
PyObject *pg_core_stage_call(PyObject *module, PyObject *args);
PyObject *pg_core_stage_enter(PyObject *module, PyObject *arg);
PyObject *pg_core_stage_exit(PyObject *module, PyObject *args);
PyObject *pg_core_stage_add(PyObject *module, PyObject *args);
PyObject *pg_core_stage_reset(PyObject *module, PyObject *unused);
PyObject *pg_core_stage_snapshot(PyObject *module, PyObject *unused);
PyObject *pg_core_stage_options(PyObject *module, PyObject *args, PyObject *kwargs);
/* Add the stage types to module; -1 with an exception set. */
int pg_stage_types_ready(PyObject *module);
int pg_stage_async_types_ready(PyObject *module);
/* len(object) when it is a sized collection of records (not str/bytes),
 * else -1; never leaves an exception set. */
long long pg_stage_records_of(PyObject *object);
/* Profile.stages() and Profile.spans() (pg_stage_binding.c). */
PyObject *pg_stage_table_to_python(const pg_profile_t *profile);
PyObject *pg_stage_spans_to_python(const pg_profile_t *profile);
PyObject *pg_core_rank_test(PyObject *module, PyObject *args);
PyObject *pg_core_sample_quantiles(PyObject *module, PyObject *args);
PyObject *pg_core_merge_samples(PyObject *module, PyObject *args);
PyObject *pg_core_bootstrap_ratio(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *pg_core_bh_adjust(PyObject *module, PyObject *args);

/* New bytes object: hist re-bucketed in ns (times ns_per_unit and scale)
 * and encoded as a latency sample (pg_stats.h). */
PyObject *pg_sample_bytes(const pg_hist_t *hist, double ns_per_unit, double scale);

/* Columns of a timeline (see Profile.timeline in _core.pyi); None when the
 * profile has none. New reference, NULL with an exception set. */
PyObject *pg_timeline_to_python(const pg_timeline_t *timeline);

#endif
