/* The stack sampler's resolver: (code object, instruction) pairs from the
 * rings become functions, lines and call-tree nodes of the live profile.
 *
 * Runs with the GIL held (the control thread's periodic drain, the code
 * watcher, stop), which also protects everything here.
 *
 * Code object lifetime: a code pointer in a ring is only a number until it
 * is resolved. The first resolution checks that it still is a live code
 * object and takes a strong reference, held until the session ends, so a
 * resolved pointer can never be reused by another object while the profile
 * may still meet it. Between the sample and its first resolution the
 * pointer is protected by a drain of the rings before any code object
 * dies (pg_stacksampler.c: a code watcher on 3.12+, a wrapped code
 * deallocator on 3.10/3.11). A walk that read a chain mid-change can still
 * record a long-dead code object's address: the check here (type and a
 * plausible reference count) rejects freed memory.
 */
#include "pg_tracer.h"

#include <stdlib.h>
#include <string.h>

#include "pg_clock.h"
#include "pg_error.h"
#include "pg_stacksampler.h"
#include "pg_lines.h"

/* (code, instruction) -> (func, line); open addressing, code NULL = empty. */
typedef struct site {
    const void *code;     /* borrowed key; kept alive by the code table */
    uint32_t instruction; /* code units from the first instruction */
    uint32_t func;        /* function index, PG_CODE_FILTERED or PG_NONE */
    uint32_t line;        /* line number, 0 when unknown */
} site_t;

static struct {
    site_t *sites;             /* owned table */
    uint32_t site_mask;        /* capacity - 1 (a power of two) */
    uint32_t site_used;
    PyObject **codes;          /* owned: strong references, one per code */
    uint32_t code_count;
    uint32_t code_capacity;
    const void **code_slots;   /* set of codes[] pointers, open addressing */
    uint32_t code_slot_mask;
    uint64_t ticks_per_sample; /* period in profile time units */
    uint32_t metric;           /* "samples" metric index, PG_NONE if none */
    uint32_t truncated_func;   /* "<truncated stack>" function, PG_NONE until used */
    uint64_t dropped;          /* samples with no frame to charge */
    int lines_only;            /* beside the tracer: the line table only */
    const void *dying;         /* the code object being destroyed, during its drain */
} resolver = {.metric = PG_NONE, .truncated_func = PG_NONE};

static uint32_t hash_pointer(const void *pointer, uint32_t salt)
{
    uint64_t x = ((uint64_t)(uintptr_t)pointer >> 4) ^ ((uint64_t)salt * 0x9E3779B97F4A7C15u);
    x *= 0xff51afd7ed558ccdu;
    return (uint32_t)(x ^ (x >> 32));
}

/* 1 when pointer is in the set of referenced code objects. */
static int code_known(const void *pointer)
{
    if (!resolver.code_slots)
        return 0;
    for (uint32_t at = hash_pointer(pointer, 0) & resolver.code_slot_mask;;
         at = (at + 1) & resolver.code_slot_mask) {
        if (resolver.code_slots[at] == pointer)
            return 1;
        if (!resolver.code_slots[at])
            return 0;
    }
}

static int code_slots_rebuild(uint32_t size)
{
    const void **slots = calloc(size, sizeof *slots);
    if (!slots)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < resolver.code_count; i++) {
        uint32_t at = hash_pointer(resolver.codes[i], 0) & (size - 1);
        while (slots[at])
            at = (at + 1) & (size - 1);
        slots[at] = resolver.codes[i];
    }
    free(resolver.code_slots);
    resolver.code_slots = slots;
    resolver.code_slot_mask = size - 1;
    return PG_OK;
}

/* Live objects' reference counts are far below this; immortal ones (3.12+)
 * sit at 2^32 - 1 (3.11's deep-frozen code at 999999999). */
#define PLAUSIBLE_REFCNT ((Py_ssize_t)1 << 36)

/* Take a strong reference to a code object seen for the first time; 0 when
 * the pointer no longer is a live code object. A freed object keeps its
 * type pointer, but its first word, the reference count, becomes the
 * allocator's free-list link (pymalloc, glibc): NULL or an address, which
 * is far above any real count. */
static int code_adopt(PyObject *code)
{
    Py_ssize_t references = Py_REFCNT(code);
    if (Py_TYPE(code) != &PyCode_Type || references <= 0 || references >= PLAUSIBLE_REFCNT)
        return 0;
    PyObject **codes = pg_array_reserve(resolver.codes, resolver.code_count,
                                        &resolver.code_capacity, sizeof *codes, 256);
    if (!codes)
        return 0;
    resolver.codes = codes;
    uint32_t size = resolver.code_slot_mask + 1;
    if (!resolver.code_slots || (resolver.code_count + 1) * 2 > size) {
        if (code_slots_rebuild(resolver.code_slots ? size * 2 : 1024) < 0)
            return 0;
    }
    Py_INCREF(code);
    codes[resolver.code_count++] = code;
    uint32_t at = hash_pointer(code, 0) & resolver.code_slot_mask;
    while (resolver.code_slots[at])
        at = (at + 1) & resolver.code_slot_mask;
    resolver.code_slots[at] = code;
    return 1;
}

static int sites_grow(void)
{
    uint32_t size = resolver.sites ? (resolver.site_mask + 1) * 2 : 4096;
    site_t *sites = calloc(size, sizeof *sites);
    if (!sites)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; resolver.sites && i <= resolver.site_mask; i++) {
        site_t *old = &resolver.sites[i];
        if (!old->code)
            continue;
        uint32_t at = hash_pointer(old->code, old->instruction) & (size - 1);
        while (sites[at].code)
            at = (at + 1) & (size - 1);
        sites[at] = *old;
    }
    free(resolver.sites);
    resolver.sites = sites;
    resolver.site_mask = size - 1;
    return PG_OK;
}

/* The site of (code, instruction), resolved on first sight; NULL when the
 * code pointer is not a live code object or memory ran out. */
static const site_t *site_get(const void *code, uint32_t instruction)
{
    if (!resolver.sites && sites_grow() < 0)
        return NULL;
    uint32_t at = hash_pointer(code, instruction) & resolver.site_mask;
    for (; resolver.sites[at].code; at = (at + 1) & resolver.site_mask) {
        site_t *site = &resolver.sites[at];
        if (site->code == code && site->instruction == instruction)
            return site;
    }
    if (!code_known(code) && !code_adopt((PyObject *)code)) {
        if (!code || code != resolver.dying)
            return NULL;
        /* The code object whose death started this drain: intact but for
         * its reference count, and its address is free for reuse once this
         * drain returns, so it is resolved without entering the cache. */
        static site_t dying;
        PyCodeObject *object = (PyCodeObject *)code;
        dying.code = code;
        dying.instruction = instruction;
        dying.func = pg_codemap_code(object);
        int line = PyCode_Addr2Line(object, (int)(instruction * PG_CODE_UNIT_SIZE));
        dying.line = line > 0 ? (uint32_t)line : (uint32_t)object->co_firstlineno;
        return &dying;
    }
    PyCodeObject *object = (PyCodeObject *)code;
    site_t *site = &resolver.sites[at];
    site->code = code;
    site->instruction = instruction;
    site->func = pg_codemap_code(object);
    int line = PyCode_Addr2Line(object, (int)(instruction * PG_CODE_UNIT_SIZE));
    site->line = line > 0 ? (uint32_t)line : (uint32_t)object->co_firstlineno;
    if (++resolver.site_used * 2 > resolver.site_mask && sites_grow() == PG_OK)
        return site_get(code, instruction); /* the table moved: look it up again */
    return site;
}

/* The one place where sample line heat enters the profile. */
static void charge_line(uint32_t func, uint32_t line, uint64_t self, uint64_t total,
                        uint64_t hits)
{
    if (pg_line_table_charge(&pg_tracer.profile.lines, func, line, self, total, hits) < 0)
        pg_tracer.lost++;
}

void pg_stackresolve_dying(const void *code)
{
    resolver.dying = code;
}

int pg_stackresolve_begin(uint64_t period_ns, int lines_only)
{
    pg_stackresolve_end(); /* a cache left by a session that could not end (fork) */
    resolver.lines_only = lines_only;
    pg_clock_mark_t now = pg_clock_mark();
    double ns_per_tick = pg_clock_ns_per_tick(&now);
    double ticks = ns_per_tick > 0 ? (double)period_ns / ns_per_tick : (double)period_ns;
    resolver.ticks_per_sample = ticks >= 1.0 ? (uint64_t)(ticks + 0.5) : 1;
    resolver.truncated_func = PG_NONE;
    resolver.dropped = 0;
    if (lines_only)
        return PG_OK; /* the tracer's tree gets no "samples" metric */
    int64_t metric = pg_profile_metric_intern(&pg_tracer.profile, "samples", "count",
                                              PG_METRIC_SUM);
    if (metric < 0)
        return (int)metric;
    resolver.metric = (uint32_t)metric;
    return PG_OK;
}

/* The function the outermost part of a truncated stack is charged to. */
static uint32_t truncated_func(void)
{
    if (resolver.truncated_func == PG_NONE) {
        static const char name[] = "<truncated stack>";
        int64_t func = pg_profile_func_intern(&pg_tracer.profile, name, sizeof name - 1, "~", 1,
                                              0, PG_FUNC_BUILTIN);
        resolver.truncated_func = func < 0 ? PG_NONE : (uint32_t)func;
    }
    return resolver.truncated_func;
}

/* Charge the lines of a sample's path: every distinct (func, line) once for
 * total, the leaf's for self. */
static void charge_lines(const uint32_t *funcs, const uint32_t *lines, uint32_t count,
                         uint64_t ticks, uint32_t weight)
{
    for (uint32_t i = 0; i < count; i++) {
        int repeated = 0;
        for (uint32_t j = i + 1; j < count && !repeated; j++)
            repeated = funcs[j] == funcs[i] && lines[j] == lines[i];
        int leaf_pair = funcs[count - 1] == funcs[i] && lines[count - 1] == lines[i];
        if (!repeated)
            charge_line(funcs[i], lines[i], leaf_pair ? ticks : 0, ticks, weight);
    }
}

void pg_stackresolve_record(const uint64_t *frames, uint32_t depth, int truncated,
                            uint32_t weight)
{
    pg_profile_t *profile = &pg_tracer.profile;
    uint32_t path[PG_STACK_MAX_DEPTH + 1], funcs[PG_STACK_MAX_DEPTH + 1],
        lines[PG_STACK_MAX_DEPTH + 1];
    uint32_t count = 0, node = PG_ROOT;
    if (truncated && !resolver.lines_only && truncated_func() != PG_NONE) {
        int64_t child = pg_profile_node_child(profile, node, resolver.truncated_func);
        if (child >= 0) {
            node = (uint32_t)child;
            path[count] = node, funcs[count] = resolver.truncated_func, lines[count++] = 0;
        }
    }
    for (uint32_t i = depth; i-- > 0;) { /* outermost first */
        const site_t *site = site_get((const void *)(uintptr_t)frames[2 * i],
                                      (uint32_t)frames[2 * i + 1]);
        if (!site || site->func == PG_CODE_FILTERED || site->func == PG_NONE)
            continue; /* collapsed code: its time stays with its caller */
        if (resolver.lines_only) { /* the tracer owns the tree */
            funcs[count] = site->func, lines[count++] = site->line;
            continue;
        }
        int64_t child = pg_profile_node_child(profile, node, site->func);
        if (child < 0) {
            pg_tracer.lost++;
            return;
        }
        node = (uint32_t)child;
        path[count] = node, funcs[count] = site->func, lines[count++] = site->line;
    }
    if (count == 0) {
        resolver.dropped++;
        return;
    }
    /* weight: timer periods this sample stands for (1 + the timer's
     * overruns while the signal waited, e.g. the thread was descheduled) */
    weight = weight ? weight : 1;
    uint64_t ticks = resolver.ticks_per_sample * weight;
    if (resolver.lines_only) {
        charge_lines(funcs, lines, count, ticks, weight);
        return;
    }
    for (uint32_t i = 0; i < count; i++)
        profile->nodes[path[i]].inclusive += ticks;
    profile->nodes[node].exclusive += ticks;
    if (resolver.metric != PG_NONE)
        (void)pg_profile_metric_charge(profile, resolver.metric, node, weight);
    charge_lines(funcs, lines, count, ticks, weight);
}

void pg_stackresolve_end(void)
{
    for (uint32_t i = 0; i < resolver.code_count; i++)
        Py_DECREF(resolver.codes[i]);
    free(resolver.codes);
    free(resolver.code_slots);
    free(resolver.sites);
    resolver.codes = NULL;
    resolver.code_slots = NULL;
    resolver.sites = NULL;
    resolver.code_count = resolver.code_capacity = 0;
    resolver.code_slot_mask = resolver.site_mask = resolver.site_used = 0;
    resolver.metric = PG_NONE;
}

uint64_t pg_stackresolve_memory(void)
{
    uint64_t bytes = (uint64_t)resolver.code_capacity * sizeof(PyObject *);
    if (resolver.code_slots)
        bytes += ((uint64_t)resolver.code_slot_mask + 1) * sizeof(void *);
    if (resolver.sites)
        bytes += ((uint64_t)resolver.site_mask + 1) * sizeof(site_t);
    return bytes;
}

uint64_t pg_stackresolve_dropped(void)
{
    return resolver.dropped;
}
