/* The stack sampler's timers, signal handler, rings and control thread
 * (the design is in pg_stacksampler.h and docs/sampling.md). */
#include "pg_tracer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pg_error.h"
#include "pg_procfs.h"
#include "pg_stacksampler.h"

/* Slot table. slots[i] is published by the control thread (release) and
 * read by handlers (acquire); busy[i] is 1 while a handler uses slot i, so
 * stop can wait for handlers before freeing. Static: never freed. */
static pg_stack_ring_t *slots[PG_STACK_MAX_THREADS];
static int busy[PG_STACK_MAX_THREADS];
static uint32_t slot_count; /* high-water mark of used slots (control thread, GIL at stop) */

static struct {
    int signum;             /* our real-time signal, 0 before the first start */
    int active;             /* 1 between start and stop; atomic */
    uint64_t tag;           /* session tag, in every timer's sigev_value */
    int cpu;                /* sample on thread CPU time (else wall) */
    int lines_only;         /* beside the tracer: line heat only (3.10/3.11 --lines) */
    uint64_t period_ns;     /* sampling period */
    double hz;
    pid_t pid;              /* process that started the session */
    pid_t control_tid;      /* the control thread (never sampled) */
    pthread_t control;      /* the control thread */
    pthread_mutex_t lock;   /* protects stop and the condition */
    pthread_cond_t wake;
    int stop;               /* lock: the control thread should finish */
    int draining;           /* GIL: a drain is running (watcher re-entry) */
    int watcher;            /* code watcher id, -1 = none */
    int atfork;             /* atfork handler registered */
    uint64_t threads;       /* threads a timer was armed for */
    uint64_t timer_failures;/* timer_create/settime failures */
    uint64_t skipped;       /* threads beyond PG_STACK_MAX_THREADS */
    uint64_t faults;        /* walks stopped by the fault guard (rings released) */
} state = {.lock = PTHREAD_MUTEX_INITIALIZER, .watcher = -1};
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

/* The control thread's timed waits are on CLOCK_MONOTONIC deadlines. */
static void wake_init(void)
{
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&state.wake, &attributes);
    pthread_condattr_destroy(&attributes);
}

/* The fault guard. The walk reads the frame chain the interrupted thread
 * may be changing: CPython links a new C-level frame record before it sets
 * the frame it points to (3.11/3.12: tstate->cframe = &cframe, then
 * cframe.current_frame = frame, with stack garbage in between), and the
 * compiler may reorder such stores. A walk that follows garbage faults;
 * the fault handler below sends the walk back (siglongjmp) to drop that
 * sample instead of ending the process. Faults that are not a walk's go
 * to the handler that was there before ours. */
static struct sigaction previous_segv, previous_bus;
static int fault_guard; /* our fault handler installed (GIL) */

static void on_fault(int signum, siginfo_t *info, void *context)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    for (uint32_t i = 0; i < PG_STACK_MAX_THREADS; i++) {
        pg_stack_ring_t *ring = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST);
        if (ring && ring->tid == tid && __atomic_load_n(&ring->walking, __ATOMIC_SEQ_CST))
            siglongjmp(ring->escape, 1);
    }
    const struct sigaction *before = signum == SIGBUS ? &previous_bus : &previous_segv;
    if (before->sa_flags & SA_SIGINFO) {
        before->sa_sigaction(signum, info, context);
    } else if (before->sa_handler == SIG_DFL || before->sa_handler == SIG_IGN) {
        /* back to the default and return: the faulting instruction runs
         * again and the kernel ends the process as it would have */
        signal(signum, SIG_DFL);
    } else {
        before->sa_handler(signum);
    }
}

static void fault_guard_install(void)
{
    if (fault_guard)
        return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, &previous_segv) != 0)
        return;
    if (sigaction(SIGBUS, &action, &previous_bus) != 0) {
        sigaction(SIGSEGV, &previous_segv, NULL);
        return;
    }
    fault_guard = 1;
}

/* Give the fault signals back, unless someone installed theirs over ours
 * since (they may chain to ours: then ours stays, harmless when idle). */
static void fault_guard_remove(void)
{
    if (!fault_guard)
        return;
    struct sigaction current;
    int ours = sigaction(SIGSEGV, NULL, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
               current.sa_sigaction == on_fault;
    if (!ours)
        return;
    sigaction(SIGSEGV, &previous_segv, NULL);
    sigaction(SIGBUS, &previous_bus, NULL);
    fault_guard = 0;
}

/* Record one sample of the calling thread into ring. Async-signal-safe. */
static void record(pg_stack_ring_t *ring, uint32_t weight)
{
    int truncated = 0;
    volatile uint32_t depth = 0;
    /* savemask = 1: the fault handler's return path restores our mask */
    if (sigsetjmp(ring->escape, 1) == 0) {
        __atomic_store_n(&ring->walking, 1, __ATOMIC_SEQ_CST);
        depth = pg_framewalk_self(ring->scratch, PG_STACK_MAX_DEPTH, &truncated);
        __atomic_store_n(&ring->walking, 0, __ATOMIC_SEQ_CST);
    } else {
        __atomic_store_n(&ring->walking, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&ring->faults, ring->faults + 1, __ATOMIC_RELAXED);
        return; /* the chain was mid-change: no sample this time */
    }
    uint64_t head = ring->head; /* producer-owned */
    uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    uint64_t need = 1 + 2 * (uint64_t)depth;
    if (PG_STACK_RING_WORDS - (head - tail) < need) {
        __atomic_store_n(&ring->lost, ring->lost + 1, __ATOMIC_RELAXED);
        return;
    }
    const uint64_t mask = PG_STACK_RING_WORDS - 1;
    ring->words[head & mask] = PG_STACK_HEADER(depth, truncated, weight);
    for (uint64_t i = 0; i < 2 * (uint64_t)depth; i++)
        ring->words[(head + 1 + i) & mask] = ring->scratch[i];
    __atomic_store_n(&ring->head, head + need, __ATOMIC_RELEASE);
    __atomic_store_n(&ring->taken, ring->taken + 1, __ATOMIC_RELAXED);
}

static void on_sample_signal(int signum, siginfo_t *info, void *context)
{
    (void)signum, (void)context;
    if (info->si_code != SI_TIMER)
        return;
    uint64_t value = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
    uint32_t slot = (uint32_t)(value & 0xffffu);
    if (slot >= PG_STACK_MAX_THREADS)
        return;
    int saved = errno;
    __atomic_store_n(&busy[slot], 1, __ATOMIC_SEQ_CST);
    pg_stack_ring_t *ring = __atomic_load_n(&slots[slot], __ATOMIC_SEQ_CST);
    /* A signal queued before its timer was deleted may arrive late: the tag
     * tells this session's rings from a reused slot. */
    if (ring && __atomic_load_n(&state.active, __ATOMIC_SEQ_CST) && ring->tag == (value >> 16))
        record(ring, 1 + (info->si_overrun > 0 ? (uint32_t)info->si_overrun : 0));
    __atomic_store_n(&busy[slot], 0, __ATOMIC_RELEASE);
    errno = saved;
}

/* The action for our signal. restart: SA_RESTART. Wall mode goes without
 * it: a blocked thread gets our signal every period, and when a signal the
 * program handles (SIGTERM, SIGINT) arrives together with ours, the
 * interrupted call is restarted as our flag says, so Python never sees the
 * EINTR it needs to run its handler (Pool.terminate() then hangs on an idle
 * worker). Without SA_RESTART Python's blocking calls return EINTR, run the
 * pending handlers and retry (PEP 475). CPU mode signals only running
 * threads, so SA_RESTART costs nothing there and keeps C code's waits
 * undisturbed. */
static int set_action(int signum, int restart)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sample_signal;
    action.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
    sigfillset(&action.sa_mask); /* nothing nests inside a walk ... */
    sigdelset(&action.sa_mask, SIGSEGV); /* ... but the fault guard's signals: */
    sigdelset(&action.sa_mask, SIGBUS);  /* blocked, a fault would end the process */
    return sigaction(signum, &action, NULL);
}

/* Install the handler on the first real-time signal nobody uses (again, for
 * this session's restart flag, when it is ours already). It stays installed
 * after stop, ignoring signals: a timer signal already queued when its timer
 * is deleted can still be delivered (older kernels), and SIG_DFL for a
 * real-time signal would end the process. */
static int install_handler(int restart)
{
    if (state.signum)
        return set_action(state.signum, restart) == 0 ? PG_OK : PG_ERR_LIMIT;
    for (int signum = SIGRTMIN; signum <= SIGRTMAX; signum++) {
        struct sigaction current;
        if (sigaction(signum, NULL, &current) != 0 || current.sa_handler != SIG_DFL ||
            (current.sa_flags & SA_SIGINFO))
            continue;
        if (set_action(signum, restart) == 0) {
            state.signum = signum;
            return PG_OK;
        }
    }
    return PG_ERR_LIMIT;
}

/* Arm a timer for ring->tid (control thread). 0 or -1. */
static int ring_arm(pg_stack_ring_t *ring, uint32_t slot)
{
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = state.signum;
    event._sigev_un._tid = ring->tid;
    event.sigev_value.sival_ptr = (void *)(uintptr_t)(ring->tag << 16 | slot);
    /* Linux encodes a thread's CPU-time clock id from its tid (what
     * pthread_getcpuclockid returns): ~tid << 3 | CPUCLOCK_PERTHREAD | SCHED. */
    clockid_t clock = state.cpu ? (clockid_t)((~(unsigned)ring->tid << 3) | 6) : CLOCK_MONOTONIC;
    if (timer_create(clock, &event, &ring->timer) != 0)
        return -1;
    struct itimerspec spec;
    spec.it_interval.tv_sec = (time_t)(state.period_ns / 1000000000u);
    spec.it_interval.tv_nsec = (long)(state.period_ns % 1000000000u);
    spec.it_value = spec.it_interval;
    if (timer_settime(ring->timer, 0, &spec, NULL) != 0) {
        timer_delete(ring->timer);
        return -1;
    }
    ring->alive = 1;
    return 0;
}

static pg_stack_ring_t *ring_for(pid_t tid)
{
    for (uint32_t i = 0; i < slot_count; i++)
        if (slots[i] && slots[i]->tid == tid && slots[i]->alive)
            return slots[i];
    return NULL;
}

/* A new thread: a ring in a free slot, and its timer (control thread). */
static void thread_add(pid_t tid)
{
    uint32_t slot = 0;
    while (slot < PG_STACK_MAX_THREADS && __atomic_load_n(&slots[slot], __ATOMIC_ACQUIRE))
        slot++;
    if (slot == PG_STACK_MAX_THREADS) {
        state.skipped++;
        return;
    }
    pg_stack_ring_t *ring = malloc(sizeof *ring);
    if (!ring) {
        state.timer_failures++;
        return;
    }
    memset(ring, 0, offsetof(pg_stack_ring_t, scratch));
    ring->tid = tid;
    ring->tag = state.tag;
    ring->seen = 1;
    __atomic_store_n(&slots[slot], ring, __ATOMIC_RELEASE);
    if (slot >= slot_count)
        __atomic_store_n(&slot_count, slot + 1, __ATOMIC_RELEASE);
    if (ring_arm(ring, slot) < 0)
        state.timer_failures++; /* the ring stays: empty, drained harmlessly */
    else
        state.threads++;
}

/* List the process's threads; arm new ones, disarm gone ones. */
static void threads_poll(void)
{
    pid_t tids[PG_STACK_MAX_THREADS * 2];
    int count = pg_procfs_thread_ids(tids, sizeof tids / sizeof tids[0]);
    if (count < 0)
        return;
    if (count > (int)(sizeof tids / sizeof tids[0]))
        count = (int)(sizeof tids / sizeof tids[0]);
    for (uint32_t i = 0; i < slot_count; i++)
        if (slots[i])
            slots[i]->seen = 0;
    for (int i = 0; i < count; i++) {
        if (tids[i] == state.control_tid)
            continue;
        pg_stack_ring_t *ring = ring_for(tids[i]);
        if (ring)
            ring->seen = 1;
        else
            thread_add(tids[i]);
    }
    for (uint32_t i = 0; i < slot_count; i++) {
        pg_stack_ring_t *ring = slots[i];
        if (ring && ring->alive && !ring->seen) {
            ring->alive = 0; /* thread gone: its ring is drained until stop */
            timer_delete(ring->timer);
        }
    }
}

/* Consume ring's complete records (GIL: the only consumer). */
static void ring_drain(pg_stack_ring_t *ring)
{
    const uint64_t mask = PG_STACK_RING_WORDS - 1;
    uint64_t frames[2 * PG_STACK_MAX_DEPTH];
    uint64_t tail = ring->tail;
    uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
    while (tail < head) {
        uint64_t header = ring->words[tail & mask];
        uint32_t depth = PG_STACK_DEPTH(header);
        if (depth > PG_STACK_MAX_DEPTH)
            depth = PG_STACK_MAX_DEPTH; /* cannot happen: the producer caps it */
        for (uint32_t i = 0; i < 2 * depth; i++)
            frames[i] = ring->words[(tail + 1 + i) & mask];
        tail += 1 + 2 * (uint64_t)depth;
        __atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
        pg_stackresolve_record(frames, depth, PG_STACK_TRUNCATED(header),
                               PG_STACK_WEIGHT(header));
    }
}

void pg_stacksampler_drain(void)
{
    if (state.draining || state.pid != getpid())
        return;
    state.draining = 1; /* resolving can free objects, which can re-enter */
    uint32_t count = __atomic_load_n(&slot_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < count; i++) {
        pg_stack_ring_t *ring = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
        if (ring && ring->tag == state.tag)
            ring_drain(ring);
    }
    state.draining = 0;
}

/* Before a code object dies, resolve the samples that may name it. A code
 * object can die while an exception is propagating (frames unwinding): the
 * drain must leave it as it was, whatever its own error paths clear. */
static void drain_before_code_dies(const void *code)
{
    if (!__atomic_load_n(&state.active, __ATOMIC_RELAXED) || state.pid != getpid() ||
        state.draining)
        return;
    pg_stackresolve_dying(code); /* its own pending samples still count */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised = PyErr_GetRaisedException();
    pg_stacksampler_drain();
    PyErr_SetRaisedException(raised);
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    pg_stacksampler_drain();
    PyErr_Restore(type, value, traceback);
#endif
    pg_stackresolve_dying(NULL);
}

#if PG_HAVE_CODE_WATCHER
static int on_code_event(PyCodeEvent event, PyCodeObject *code)
{
    if (event == PY_CODE_EVENT_DESTROY)
        drain_before_code_dies(code);
    return 0;
}
#else
/* 3.10/3.11 have no code watchers: the code type's deallocator is wrapped
 * instead (installed once, for the life of the process; it only passes
 * through while no session is active). The code type cannot be subclassed,
 * so every code object's death goes through this slot. */
static destructor code_dealloc_original;

static void code_dealloc_hook(PyObject *code)
{
    drain_before_code_dies(code);
    code_dealloc_original(code);
}

static void code_dealloc_hook_install(void)
{
    if (PyCode_Type.tp_dealloc == code_dealloc_hook)
        return;
    code_dealloc_original = PyCode_Type.tp_dealloc;
    PyCode_Type.tp_dealloc = code_dealloc_hook;
}
#endif

static void *control_main(void *unused)
{
    (void)unused;
    state.control_tid = pg_procfs_gettid();
    /* A thread state of our own for the drains, created once. */
    PyGILState_STATE gil = PyGILState_Ensure();
    PyThreadState *tstate = PyEval_SaveThread();
    uint64_t next_poll = 0;
    pthread_mutex_lock(&state.lock);
    while (!state.stop) {
        pthread_mutex_unlock(&state.lock);
        uint64_t now = pg_clock_monotonic_ns();
        if (now >= next_poll) {
            threads_poll();
            next_poll = now + PG_STACK_POLL_MS * 1000000ull;
        }
        if (!pg_is_finalizing()) {
            PyEval_RestoreThread(tstate);
            pg_stacksampler_drain();
            tstate = PyEval_SaveThread();
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t wake_ns = (uint64_t)until.tv_nsec + PG_STACK_DRAIN_MS * 1000000ull;
        until.tv_sec += (time_t)(wake_ns / 1000000000u);
        until.tv_nsec = (long)(wake_ns % 1000000000u);
        pthread_mutex_lock(&state.lock);
        if (!state.stop)
            pthread_cond_timedwait(&state.wake, &state.lock, &until);
    }
    pthread_mutex_unlock(&state.lock);
    PyEval_RestoreThread(tstate);
    PyGILState_Release(gil);
    return NULL;
}

/* In a forked child: no control thread, no timers; forget the session. */
static void forget_after_fork(void)
{
    __atomic_store_n(&state.active, 0, __ATOMIC_SEQ_CST);
    /* The parent's rings are copies here and its timer ids mean nothing
     * (a new timer of the child's may even get the same id): drop both. */
    for (uint32_t i = 0; i < PG_STACK_MAX_THREADS; i++) {
        free(slots[i]);
        slots[i] = NULL;
        busy[i] = 0;
    }
    slot_count = 0;
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    state.lock = fresh;
    wake_init();
}

int pg_stacksampler_start(double hz, int cpu, int lines_only)
{
    if (!(hz > 0.0 && hz <= PG_STACK_MAX_HZ))
        return PG_ERR_ARG;
    if (state.active && state.pid == getpid())
        return PG_ERR_ARG;
    int rc = install_handler(cpu);
    if (rc < 0)
        return rc;
    fault_guard_install();
    pthread_once(&wake_once, wake_init);
    if (!state.atfork && pthread_atfork(NULL, NULL, forget_after_fork) == 0)
        state.atfork = 1;
    state.hz = hz;
    state.cpu = cpu;
    state.lines_only = lines_only;
    state.period_ns = (uint64_t)(1e9 / hz + 0.5);
    state.tag = (state.tag + 1) & 0xffffffffffffull;
    state.pid = getpid();
    state.threads = state.timer_failures = state.skipped = state.faults = 0;
    state.stop = 0;
    slot_count = 0;
    if ((rc = pg_stackresolve_begin(state.period_ns, lines_only)) < 0)
        return rc;
#if PG_HAVE_CODE_WATCHER
    state.watcher = PyCode_AddWatcher(on_code_event);
    if (state.watcher < 0)
        PyErr_Clear(); /* all watcher ids taken: a drain period's window (docs) */
#else
    code_dealloc_hook_install();
#endif
    __atomic_store_n(&state.active, 1, __ATOMIC_SEQ_CST);
    /* The control thread blocks every signal (it inherits the mask it is
     * created with): a process signal such as SIGTERM must reach a thread
     * whose blocking call it interrupts, as without the profiler. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int created = pthread_create(&state.control, NULL, control_main, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (created != 0) {
        __atomic_store_n(&state.active, 0, __ATOMIC_SEQ_CST);
        pg_stackresolve_end();
        return PG_ERR_IO;
    }
    return PG_OK;
}

static void meta_u64(const char *key, uint64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)value);
    pg_profile_meta_set(&pg_tracer.profile, key, text);
}

/* Delete every timer, wait out running handlers, drain, free the rings.
 * Returns the samples taken and lost over all rings. GIL. */
static void rings_release(uint64_t *taken, uint64_t *lost)
{
    *taken = *lost = 0;
    for (uint32_t i = 0; i < slot_count; i++) {
        pg_stack_ring_t *ring = slots[i];
        if (!ring)
            continue;
        if (ring->alive)
            timer_delete(ring->timer);
        ring->alive = 0;
    }
    for (uint32_t i = 0; i < slot_count; i++) {
        pg_stack_ring_t *ring = slots[i];
        if (!ring)
            continue;
        __atomic_store_n(&slots[i], NULL, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&busy[i], __ATOMIC_SEQ_CST))
            sched_yield(); /* a handler is finishing a walk on its thread */
        if (ring->tag == state.tag)
            ring_drain(ring);
        *taken += __atomic_load_n(&ring->taken, __ATOMIC_RELAXED);
        *lost += __atomic_load_n(&ring->lost, __ATOMIC_RELAXED);
        state.faults += __atomic_load_n(&ring->faults, __ATOMIC_RELAXED);
        free(ring);
    }
    slot_count = 0;
}

void pg_stacksampler_stop(void)
{
    if (state.pid != getpid()) {
        /* a forked child: the session's threads and timers are not here;
         * the resolver's cache names the parent's functions */
        pg_stackresolve_end();
        state.pid = getpid();
        return;
    }
    if (!__atomic_load_n(&state.active, __ATOMIC_SEQ_CST))
        return;
    pthread_mutex_lock(&state.lock);
    state.stop = 1;
    pthread_cond_signal(&state.wake);
    pthread_mutex_unlock(&state.lock);
    Py_BEGIN_ALLOW_THREADS /* the control thread may be waiting for the GIL */
    pthread_join(state.control, NULL);
    Py_END_ALLOW_THREADS
    __atomic_store_n(&state.active, 0, __ATOMIC_SEQ_CST);
    uint64_t taken, lost;
    rings_release(&taken, &lost);
    fault_guard_remove(); /* no walk runs any more (timers deleted, handlers out) */
#if PG_HAVE_CODE_WATCHER
    if (state.watcher >= 0 && PyCode_ClearWatcher(state.watcher) < 0)
        PyErr_Clear();
    state.watcher = -1;
#endif
    pg_profile_t *profile = &pg_tracer.profile;
    char text[64];
    if (state.lines_only) { /* the tracer's run: only its line heat is ours */
        pg_profile_meta_set(profile, "lines.mode", "sample");
        snprintf(text, sizeof text, "%g", state.hz);
        pg_profile_meta_set(profile, "lines.sample_hz", text);
        meta_u64("lines.samples", taken);
        meta_u64("lines.samples_lost", lost + state.faults);
        pg_stackresolve_end();
        return;
    }
    pg_profile_meta_set(profile, "mode", "sample");
    snprintf(text, sizeof text, "%g", state.hz);
    pg_profile_meta_set(profile, "sample_hz", text);
    pg_profile_meta_set(profile, "sample_clock", state.cpu ? "cpu" : "wall");
    snprintf(text, sizeof text, "SIGRTMIN+%d", state.signum - SIGRTMIN);
    pg_profile_meta_set(profile, "sample_signal", text);
    meta_u64("samples_taken", taken);
    meta_u64("samples_lost", lost);
    if (state.faults)
        meta_u64("samples_walk_faults", state.faults);
    meta_u64("samples_outside_python", pg_stackresolve_dropped());
    meta_u64("sample_threads", state.threads);
    if (state.timer_failures)
        meta_u64("sample_timer_failures", state.timer_failures);
    if (state.skipped)
        meta_u64("sample_threads_skipped", state.skipped);
    pg_stackresolve_end();
}

int pg_stacksampler_active(void)
{
    return __atomic_load_n(&state.active, __ATOMIC_RELAXED) && state.pid == getpid();
}

uint64_t pg_stacksampler_memory(void)
{
    uint64_t bytes = pg_stackresolve_memory();
    uint32_t count = __atomic_load_n(&slot_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < count; i++)
        if (__atomic_load_n(&slots[i], __ATOMIC_ACQUIRE))
            bytes += sizeof(pg_stack_ring_t);
    return bytes;
}

uint64_t pg_stacksampler_threads(void)
{
    return state.threads;
}
