/* _core.prune(): a pruned copy of a profile (engine: pg_prune.c). */
#include "pg_binding.h"
#include "pg_prune.h"

#include <math.h>

PyObject *pg_core_prune(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"profile", "min_fraction", "max_nodes", NULL};
    PyObject *profile_object;
    double min_fraction = 0.0;
    Py_ssize_t max_nodes = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$dn:prune", keywords, &profile_object,
                                     &min_fraction, &max_nodes))
        return NULL;
    const pg_profile_t *src = pg_profile_of(profile_object);
    if (!src)
        return NULL;
    if (isnan(min_fraction) || min_fraction < 0.0 || min_fraction > 1.0) {
        PyErr_SetString(PyExc_ValueError, "min_fraction must be between 0 and 1");
        return NULL;
    }
    if (max_nodes < 0 || (size_t)max_nodes > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "max_nodes must be between 0 and 2**32-1");
        return NULL;
    }
    /* The GIL stays held: Profile.set_meta() from another thread would
     * otherwise race with the copy of the metadata. */
    pg_profile_t pruned;
    int rc = pg_profile_prune(&pruned, src, min_fraction, (uint32_t)max_nodes);
    if (rc < 0)
        return pg_raise(rc, NULL);
    return pg_profile_wrap(&pruned);
}
