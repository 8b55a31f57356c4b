/* Code objects and builtins to function indexes.
 *
 * A code object's function index lives in its co_extra slot (see
 * PG_CODE_FILTERED in pg_tracer.h), so the hot path reads it with no hashing
 * and it dies with the code object. Builtins are keyed by their PyMethodDef,
 * which is shared by every bound instance of the same C function or method.
 * Both paths run with the GIL held; the slow paths here run once per code
 * object or builtin per session.
 */
#include "pg_tracer.h"
#include "pg_linetrace.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UTF-8 of a str, or fallback when it is not one or cannot be encoded.
 * Borrowed from the str's cache; clears any error so the hot path stays
 * exception-free. */
static const char *utf8_or(PyObject *text, const char *fallback, Py_ssize_t *length)
{
    if (text && PyUnicode_Check(text)) {
        const char *utf8 = PyUnicode_AsUTF8AndSize(text, length);
        if (utf8)
            return utf8;
        PyErr_Clear();
    }
    *length = (Py_ssize_t)strlen(fallback);
    return fallback;
}

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Dotted module name of file under the longest matching root, into out. */
static int module_name(const pg_filter_t *filter, const char *file, char *out, size_t size)
{
    const char *best = NULL;
    size_t best_length = 0;
    for (size_t i = 0; i < filter->root_count; i++) {
        size_t length = strlen(filter->module_roots[i]);
        if (length > best_length && strncmp(file, filter->module_roots[i], length) == 0 &&
            file[length] == '/') {
            best = filter->module_roots[i];
            best_length = length;
        }
    }
    if (!best)
        return 0;
    snprintf(out, size, "%s", file + best_length + 1);
    size_t length = strlen(out);
    if (length > 3 && strcmp(out + length - 3, ".py") == 0)
        out[length -= 3] = '\0';
    for (char *c = out; *c; c++)
        if (*c == '/')
            *c = '.';
    if (length > 9 && strcmp(out + length - 9, ".__init__") == 0)
        out[length - 9] = '\0';
    return 1;
}

/* A glob ignores a module when it matches the module or one of its parent
 * packages ("pkg" ignores "pkg.sub.mod"), or the file name. */
static int is_ignored(const pg_filter_t *filter, const char *file)
{
    if (!filter->ignore_count)
        return 0;
    char module[1024];
    int have_module = module_name(filter, file, module, sizeof module);
    for (size_t i = 0; i < filter->ignore_count; i++) {
        const char *glob = filter->ignore_globs[i];
        if (fnmatch(glob, file, 0) == 0)
            return 1;
        if (!have_module)
            continue;
        char prefix[1024];
        snprintf(prefix, sizeof prefix, "%s", module);
        for (;;) {
            if (fnmatch(glob, prefix, 0) == 0)
                return 1;
            char *dot = strrchr(prefix, '.');
            if (!dot)
                break;
            *dot = '\0';
        }
    }
    return 0;
}

static int is_collapsed(const pg_filter_t *filter, const char *file)
{
    for (size_t i = 0; i < filter->collapse_count; i++)
        if (starts_with(file, filter->collapse_prefixes[i]))
            return 1;
    return 0;
}

static void code_extra_store(PyCodeObject *code, uint32_t value)
{
    uint64_t stamped = (pg_tracer.generation & 0xffffffffu) << 32 | value;
    if (pg_code_extra_set((PyObject *)code, pg_tracer.extra_index,
                          (void *)(uintptr_t)stamped) < 0)
        PyErr_Clear(); /* only costs a repeat of this slow path */
}

uint32_t pg_codemap_register(PyCodeObject *code)
{
    Py_ssize_t file_length, name_length;
    const char *file = utf8_or(code->co_filename, "<unknown>", &file_length);
    const char *name = utf8_or(pg_code_qualname(code), "<unknown>", &name_length);
    if (is_collapsed(&pg_tracer.filter, file) || is_ignored(&pg_tracer.filter, file)) {
        code_extra_store(code, PG_CODE_FILTERED);
        return PG_CODE_FILTERED;
    }
    int64_t func = pg_profile_func_intern(&pg_tracer.profile, name, (size_t)name_length, file,
                                          (size_t)file_length,
                                          (uint32_t)code->co_firstlineno, PG_FUNC_PYTHON);
    if (func < 0) {
        pg_tracer.lost++;
        return PG_NONE;
    }
    code_extra_store(code, (uint32_t)func + 1);
    pg_linetrace_on_register(code, (uint32_t)func, name);
    return (uint32_t)func;
}

/* Builtins: PyMethodDef pointer -> generation-stamped function index. */
typedef struct builtin_slot {
    const PyMethodDef *def; /* borrowed key */
    uint64_t generation;    /* session of func; stale entries are reused */
    uint32_t func;
} builtin_slot_t;

static builtin_slot_t *builtin_slots;
static uint32_t builtin_mask;
static uint32_t builtin_used;

/* Objects whose repr is implemented in C without calling Python code, so
 * it is safe to take inside a tracing callback. */
static int repr_is_safe(PyObject *object)
{
    return PyCFunction_Check(object) || Py_IS_TYPE(object, &PyMethodDescr_Type) ||
           Py_IS_TYPE(object, &PyClassMethodDescr_Type) ||
           Py_IS_TYPE(object, &PyWrapperDescr_Type) || PyFunction_Check(object);
}

/* repr(type(self).<name>) into out, as cProfile names a bound builtin;
 * 0 when there is no such attribute or it is not safe to repr. */
static int label_from_type(PyObject *self, const char *name, char *out, size_t size)
{
    PyObject *key = PyUnicode_FromString(name);
    PyObject *found = key ? _PyType_Lookup(Py_TYPE(self), key) : NULL; /* borrowed */
    PyObject *repr = found && repr_is_safe(found) ? PyObject_Repr(found) : NULL;
    Py_XDECREF(key);
    const char *text = repr ? PyUnicode_AsUTF8(repr) : NULL;
    if (text)
        snprintf(out, size, "%s", text);
    Py_XDECREF(repr);
    PyErr_Clear();
    return text != NULL;
}

/* Module name of a builtin: m_module is a str or a module (or absent). */
static const char *builtin_module(PyObject *module, Py_ssize_t *length)
{
    if (module && PyModule_Check(module)) {
        const char *name = PyModule_GetName(module);
        if (name) {
            *length = (Py_ssize_t)strlen(name);
            return name;
        }
        PyErr_Clear();
    }
    return utf8_or(module, "", length);
}

/* cProfile's labels. A function with no self: "<len>" for builtins,
 * "<module.name>" otherwise. A bound builtin (a module function such as
 * builtins.len is bound to its module): repr of the attribute of that name
 * on type(self), e.g. "<method 'append' of 'list' objects>", else
 * "<built-in method module.name>". A method descriptor called with self is
 * labelled as if bound to it (self_arg). */
static void builtin_label(PyObject *callable, const PyMethodDef *def, PyObject *self_arg,
                          char *out, size_t size)
{
    PyObject *self = self_arg, *module = NULL;
    if (PyCFunction_Check(callable)) {
        self = ((PyCFunctionObject *)callable)->m_self;
        module = ((PyCFunctionObject *)callable)->m_module;
    }
    Py_ssize_t length;
    const char *module_name = builtin_module(module, &length);
    if (self == NULL) {
        if (length && strcmp(module_name, "builtins") != 0)
            snprintf(out, size, "<%s.%s>", module_name, def->ml_name);
        else
            snprintf(out, size, "<%s>", def->ml_name);
        return;
    }
    if (label_from_type(self, def->ml_name, out, size))
        return;
    if (length)
        snprintf(out, size, "<built-in method %s.%s>", module_name, def->ml_name);
    else
        snprintf(out, size, "<built-in method %s>", def->ml_name);
}

static int builtin_table_grow(void)
{
    uint32_t size = builtin_mask ? (builtin_mask + 1) * 2 : 1024;
    builtin_slot_t *slots = calloc(size, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t i = 0; builtin_slots && i <= builtin_mask; i++) {
        builtin_slot_t *old = &builtin_slots[i];
        if (!old->def || old->generation != pg_tracer.generation)
            continue;
        uint32_t at = (uint32_t)(((uintptr_t)old->def >> 4) * 0x9E3779B1u) & (size - 1);
        while (slots[at].def)
            at = (at + 1) & (size - 1);
        slots[at] = *old;
    }
    free(builtin_slots);
    builtin_slots = slots;
    builtin_mask = size - 1;
    return 0;
}

uint32_t pg_codemap_builtin(PyObject *callable, PyObject *self_arg)
{
    const PyMethodDef *def;
    if (PyCFunction_Check(callable))
        def = ((PyCFunctionObject *)callable)->m_ml;
    else if (Py_IS_TYPE(callable, &PyMethodDescr_Type))
        def = ((PyMethodDescrObject *)callable)->d_method;
    else
        return PG_NONE;
    if (!builtin_slots && builtin_table_grow() < 0)
        return PG_NONE;
    uint32_t at = (uint32_t)(((uintptr_t)def >> 4) * 0x9E3779B1u) & builtin_mask;
    for (;;) {
        builtin_slot_t *slot = &builtin_slots[at];
        if (slot->def == def && slot->generation == pg_tracer.generation)
            return slot->func;
        if (!slot->def || slot->generation != pg_tracer.generation)
            break;
        at = (at + 1) & builtin_mask;
    }
    char label[512];
    builtin_label(callable, def, self_arg, label, sizeof label);
    int64_t func = pg_profile_func_intern(&pg_tracer.profile, label, strlen(label), "~", 1, 0,
                                          PG_FUNC_BUILTIN);
    if (func < 0) {
        pg_tracer.lost++;
        return PG_NONE;
    }
    builtin_slot_t *slot = &builtin_slots[at];
    if (!slot->def || slot->generation != pg_tracer.generation)
        builtin_used++;
    slot->def = def;
    slot->generation = pg_tracer.generation;
    slot->func = (uint32_t)func;
    if (builtin_used * 2 > builtin_mask) {
        builtin_used = 0;
        if (builtin_table_grow() < 0)
            return (uint32_t)func;
        for (uint32_t i = 0; i <= builtin_mask; i++)
            builtin_used += builtin_slots[i].def != NULL;
    }
    return (uint32_t)func;
}

uint64_t pg_codemap_memory(void)
{
    return builtin_slots ? ((uint64_t)builtin_mask + 1) * sizeof(builtin_slot_t) : 0;
}
