/* Line heat in deterministic mode: see pg_linetrace.h. */
#include "pg_linetrace.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

pg_linetrace_t pg_linetrace;

#define CHECK_INTERVAL_NS 100e6 /* threshold checks: every ~100 ms */

static void free_patterns(void)
{
    for (size_t i = 0; i < pg_linetrace.pattern_count; i++)
        free(pg_linetrace.patterns[i]);
    free(pg_linetrace.patterns);
    pg_linetrace.patterns = NULL;
    pg_linetrace.pattern_count = 0;
}

static void free_functions(void)
{
    free(pg_linetrace.func_state);
    free(pg_linetrace.func_since);
    free(pg_linetrace.scratch);
    pg_linetrace.func_state = NULL;
    pg_linetrace.func_since = NULL;
    pg_linetrace.scratch = NULL;
    pg_linetrace.func_count = pg_linetrace.scratch_count = 0;
    pg_linetrace.functions_on = 0;
}

void pg_linetrace_release(void)
{
    free_patterns();
    free_functions();
    memset(&pg_linetrace, 0, sizeof pg_linetrace);
}

int pg_linetrace_configure(int enabled, const char *const *patterns, size_t pattern_count,
                           double threshold)
{
    pg_linetrace_release();
    if (!enabled)
        return PG_OK;
    if (pattern_count) {
        pg_linetrace.patterns = calloc(pattern_count, sizeof *pg_linetrace.patterns);
        if (!pg_linetrace.patterns)
            return PG_ERR_NOMEM;
        for (size_t i = 0; i < pattern_count; i++) {
            if (!(pg_linetrace.patterns[i] = strdup(patterns[i]))) {
                pg_linetrace.pattern_count = i;
                pg_linetrace_release();
                return PG_ERR_NOMEM;
            }
        }
        pg_linetrace.pattern_count = pattern_count;
    }
    pg_linetrace.requested = 1;
    pg_linetrace.threshold = threshold;
    return PG_OK;
}

void pg_linetrace_reset(void)
{
    free_functions();
    pg_linetrace.failures = 0;
    pg_linetrace.enabled = pg_linetrace.requested;
    pg_linetrace.threshold_on = pg_linetrace.enabled && pg_linetrace.threshold > 0.0;
    pg_clock_mark_t mark = pg_clock_mark();
    double ns_per_tick = pg_clock_ns_per_tick(&mark);
    pg_linetrace.check_ticks = (uint64_t)(CHECK_INTERVAL_NS / (ns_per_tick > 0 ? ns_per_tick : 1));
    pg_linetrace.next_check = pg_tracer.start_mark.ticks + pg_linetrace.check_ticks;
}

/* Room for func in the per-function arrays (zeroed growth). */
static int reserve_function(uint32_t func)
{
    if (func < pg_linetrace.func_count)
        return PG_OK;
    uint32_t count = pg_linetrace.func_count ? pg_linetrace.func_count : 64;
    while (count <= func)
        count *= 2;
    uint8_t *state = realloc(pg_linetrace.func_state, count);
    if (state)
        pg_linetrace.func_state = state;
    uint64_t *since = realloc(pg_linetrace.func_since, (size_t)count * sizeof *since);
    if (since)
        pg_linetrace.func_since = since;
    if (!state || !since)
        return PG_ERR_NOMEM;
    uint32_t old = pg_linetrace.func_count;
    memset(state + old, 0, count - old);
    memset(since + old, 0, (size_t)(count - old) * sizeof *since);
    pg_linetrace.func_count = count;
    return PG_OK;
}

/* Turn LINE events on for code (function func) from now on; since is the
 * moment in ticks after the start (0: from its first call). */
static void turn_on(PyCodeObject *code, uint32_t func, uint64_t since)
{
    if (reserve_function(func) < 0) {
        pg_linetrace.failures++;
        return;
    }
    if (pg_linetrace.func_state[func] == PG_LINES_ON)
        return;
    if (pg_backend_lines_enable(code) < 0) {
        pg_linetrace.func_state[func] = PG_LINES_OFF; /* not retried at every entry */
        pg_linetrace.failures++;
        return;
    }
    pg_linetrace.func_state[func] = PG_LINES_ON;
    pg_linetrace.func_since[func] = since;
    pg_linetrace.functions_on++;
}

/* Qualified-name match as view's name filters: substring or glob. */
static int name_matches(const char *name)
{
    for (size_t i = 0; i < pg_linetrace.pattern_count; i++) {
        const char *pattern = pg_linetrace.patterns[i];
        if (strstr(name, pattern) || fnmatch(pattern, name, 0) == 0)
            return 1;
    }
    return 0;
}

void pg_linetrace_on_register(PyCodeObject *code, uint32_t func, const char *name)
{
    if (pg_linetrace.enabled && pg_linetrace.pattern_count && name_matches(name))
        turn_on(code, func, 0);
}

/* Open frames' own time (GIL held, thread-list lock held by the visitor):
 * a frame's open self time runs from its start to its child's start (or
 * now, for the top frame), less its completed children. */
typedef struct open_time {
    uint64_t now;
    uint64_t *self; /* per function, scratch_count entries */
    uint32_t count;
} open_time_t;

static void add_open_frames(const pg_thread_t *thread, void *data)
{
    open_time_t *open = data;
    if (thread->generation != pg_tracer.generation)
        return;
    for (uint32_t d = 0; d < thread->depth; d++) {
        const pg_frame_t *frame = &thread->frames[d];
        uint64_t end = d + 1 < thread->depth ? thread->frames[d + 1].start : open->now;
        uint64_t span = end > frame->start ? end - frame->start : 0;
        if (frame->func < open->count && span > frame->children)
            open->self[frame->func] += span - frame->children;
    }
}

/* Mark the functions whose own time so far exceeds the threshold share. */
static void threshold_check(uint64_t now)
{
    const pg_profile_t *profile = &pg_tracer.profile;
    uint32_t n = profile->func_count;
    if (n > pg_linetrace.scratch_count) {
        uint64_t *scratch = realloc(pg_linetrace.scratch, (size_t)n * sizeof *scratch);
        if (!scratch) {
            pg_linetrace.failures++;
            return;
        }
        pg_linetrace.scratch = scratch;
        pg_linetrace.scratch_count = n;
    }
    uint64_t *self = pg_linetrace.scratch;
    memset(self, 0, (size_t)n * sizeof *self);
    for (uint32_t i = 1; i < profile->node_count; i++)
        self[profile->nodes[i].func] += profile->nodes[i].exclusive;
    open_time_t open = {.now = now, .self = self, .count = n};
    pg_tracer_threads_visit(add_open_frames, &open);
    double limit = pg_linetrace.threshold * (double)(now - pg_tracer.start_mark.ticks);
    if (n && reserve_function(n - 1) < 0) {
        pg_linetrace.failures++;
        return;
    }
    for (uint32_t f = 0; f < n; f++)
        if (pg_linetrace.func_state[f] == PG_LINES_OFF && (double)self[f] > limit &&
            profile->funcs[f].kind == PG_FUNC_PYTHON)
            pg_linetrace.func_state[f] = PG_LINES_WANTED;
}

/* A resumed frame of a function with line events is back on the line it
 * left (the resume point), which gets no LINE event of its own. */
static void resume_line(PyCodeObject *code, int offset, uint64_t now)
{
    pg_thread_t *thread = pg_thread_current;
    int line = PyCode_Addr2Line(code, offset);
    if (!thread || !thread->depth || line <= 0)
        return;
    pg_frame_t *top = &thread->frames[thread->depth - 1];
    if (top->key != (const void *)code || top->node == PG_NONE)
        return;
    top->line = (uint32_t)line;
    top->line_hit = 0; /* its execution was counted before the yield */
    top->line_start = now;
    top->line_children = top->children;
}

void pg_linetrace_entry_slow(PyCodeObject *code, uint32_t func, uint64_t now, int resumed,
                             PyObject *offset)
{
    uint64_t since = now - pg_tracer.start_mark.ticks;
    if (func < pg_linetrace.func_count) {
        if (pg_linetrace.func_state[func] == PG_LINES_WANTED)
            turn_on(code, func, since);
        else if (resumed && pg_linetrace.func_state[func] == PG_LINES_ON)
            resume_line(code, (int)PyLong_AsLong(offset), now); /* a small int */
    }
    if (!pg_linetrace.threshold_on || now < pg_linetrace.next_check)
        return;
    threshold_check(now);
    uint64_t spent = pg_clock_ticks() - now;
    if (spent * 100 > pg_linetrace.check_ticks) /* keep checks under ~1% of the time */
        pg_linetrace.check_ticks *= 2;
    pg_linetrace.next_check = now + spent + pg_linetrace.check_ticks;
    /* Functions open on this thread's stack start now, not at their next
     * entry (a long loop may never return). Frames of Python code have the
     * code object as key and no caller; the frame keeps it alive. */
    pg_thread_t *thread = pg_thread_current;
    for (uint32_t d = 0; thread && d < thread->depth; d++) {
        const pg_frame_t *frame = &thread->frames[d];
        if (!frame->caller && frame->func < pg_linetrace.func_count &&
            pg_linetrace.func_state[frame->func] == PG_LINES_WANTED)
            turn_on((PyCodeObject *)frame->key, frame->func, since);
    }
}

void pg_tracer_line_close(pg_frame_t *frame, uint64_t now)
{
    uint64_t total = now > frame->line_start ? now - frame->line_start : 0;
    uint64_t callees = frame->children - frame->line_children;
    uint64_t self = callees < total ? total - callees : 0;
    if (pg_profile_line_charge(&pg_tracer.profile, frame->func, frame->line, self, total,
                               frame->line_hit) < 0)
        pg_tracer.lost++;
    frame->line = 0;
}

void pg_linetrace_on_line(PyCodeObject *code, uint32_t line)
{
    uint64_t now = pg_clock_ticks();
    pg_thread_t *thread = pg_thread_get();
    if (PG_UNLIKELY(!thread || !thread->depth))
        return;
    pg_frame_t *top = &thread->frames[thread->depth - 1];
    if (PG_UNLIKELY((const void *)code != top->key || top->node == PG_NONE))
        return; /* a frame we do not track (began before start, or lost) */
    if (top->line)
        pg_tracer_line_close(top, now);
    /* Counted as a tracer event of this node, so the overhead correction
     * removes the callback's cost from the function's own time. */
    pg_tracer.events++;
    pg_tracer.profile.nodes[top->node].events++;
    top->line = line;
    top->line_hit = 1;
    top->line_children = top->children;
    top->line_start = pg_clock_ticks(); /* this callback's cost goes to no line */
}

void pg_linetrace_finish(void)
{
    if (!pg_linetrace.enabled)
        return;
    pg_clock_mark_t mark = pg_clock_mark();
    double ns_per_tick = pg_clock_ns_per_tick(&mark);
    /* "func:ns,..." for the functions the threshold chose (ns after the
     * start their heat begins); named ones cover the whole run. */
    size_t size = 64, used = 0;
    char *since = malloc(size);
    for (uint32_t f = 0; since && f < pg_linetrace.func_count; f++) {
        if (pg_linetrace.func_state[f] != PG_LINES_ON || !pg_linetrace.func_since[f])
            continue;
        if (size - used < 48) {
            char *grown = realloc(since, size * 2);
            if (!grown)
                break;
            since = grown;
            size *= 2;
        }
        used += (size_t)snprintf(since + used, size - used, "%s%u:%.0f", used ? "," : "", f,
                                 (double)pg_linetrace.func_since[f] * ns_per_tick);
    }
    if (since) {
        since[used] = '\0';
        if (pg_profile_meta_set(&pg_tracer.profile, "lines.since", since) < 0)
            pg_tracer.lost++;
        free(since);
    }
    char text[64];
    snprintf(text, sizeof text, "%llu", (unsigned long long)pg_linetrace.functions_on);
    pg_profile_meta_set(&pg_tracer.profile, "lines.functions", text);
    if (pg_linetrace.failures) {
        snprintf(text, sizeof text, "%llu", (unsigned long long)pg_linetrace.failures);
        pg_profile_meta_set(&pg_tracer.profile, "lines.failures", text);
    }
    pg_linetrace.enabled = pg_linetrace.threshold_on = 0;
}

uint64_t pg_linetrace_memory(void)
{
    return (uint64_t)pg_linetrace.func_count * (1 + sizeof(uint64_t)) +
           (uint64_t)pg_linetrace.scratch_count * sizeof(uint64_t);
}

#if !PG_USE_MONITORING
/* 3.10/3.11: no LINE events without a settrace function (the Python shell
 * does not ask for line heat there). */
int pg_backend_lines_enable(PyCodeObject *code)
{
    (void)code;
    return -1;
}

void pg_backend_lines_disable_all(void)
{
}
#endif
