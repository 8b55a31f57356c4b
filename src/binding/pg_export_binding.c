/* pipegauge._core.export(profile, format, path, *, correct=True): the
 * engine's exporters (src/engine/pg_export.h) behind one function. */
#include "pg_binding.h"
#include "pg_error.h"
#include "pg_export.h"

PyObject *pg_core_export(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"profile", "format", "path", "correct", NULL};
    PyObject *profile_object, *path_object;
    const char *format_name;
    int correct = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OsO&|$p:export", keywords,
                                     &profile_object, &format_name, PyUnicode_FSConverter,
                                     &path_object, &correct))
        return NULL;
    PyObject *result = NULL;
    const pg_profile_t *profile = pg_profile_of(profile_object);
    int format = pg_export_format_from_name(format_name);
    if (!profile)
        goto done;
    if (format < 0) {
        PyErr_Format(PyExc_ValueError,
                     "unknown export format '%s': expected folded, speedscope, pprof or chrome",
                     format_name);
        goto done;
    }
    const char *path = PyBytes_AS_STRING(path_object);
    /* The GIL stays held: Profile.set_meta on another thread could move
     * the metadata array the exporter reads. */
    int rc = pg_export_write(profile, format, path, correct, NULL);
    if (rc < 0)
        pg_raise(rc, path);
    else
        result = Py_NewRef(Py_None);
done:
    Py_DECREF(path_object);
    return result;
}
