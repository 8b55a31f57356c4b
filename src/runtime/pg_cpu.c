/* CPU time per function without reading a CPU clock per event.
 *
 * Each profiled thread gets a POSIX timer on its own CPU-time clock
 * (timer_create(CLOCK_THREAD_CPUTIME_ID), SIGEV_THREAD_ID), armed when the
 * thread attaches to the session and deleted at stop or when the thread
 * exits. Every expiry delivers a real-time signal to that thread, whose
 * handler only adds interval x (1 + overruns) to the PG_ACC_CPU_NS
 * accumulator of the frame running at that moment. The timer advances
 * only while the thread runs, so a sleeping or blocked thread gets no
 * signals at all (no EINTR for it), and off-CPU time = wall - CPU.
 *
 * Resolution: the kernel checks CPU timers at its scheduler tick (HZ, often
 * 250 or 1000 per second), so charges arrive in tick-sized lumps; overruns
 * keep the total exact to within one tick per thread, and a function's
 * share is right on average over many ticks (a statistical attribution,
 * like a sampler's), not per call.
 *
 * The signal: the first SIGRTMIN+k whose disposition is SIG_DFL, not
 * SIGPROF, so user code and other tools keep SIGPROF and the profiler's
 * own future sampler can have another one. Once installed, the handler
 * stays (a late signal after stop must never meet SIG_DFL, which for a
 * real-time signal ends the process); it ignores signals outside a session.
 */
#include "pg_cpu.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pg_error.h"
#include "pg_tracer.h"

static int cpu_signal;              /* our signal number, 0 = none yet (GIL) */
static uint64_t interval_ns;        /* timer period; 0 = CPU attribution off */
static volatile sig_atomic_t armed; /* 1 while a session arms timers */

/* Async-signal-safe: reads this thread's own state, writes its top frame. */
static void on_cpu_signal(int signum, siginfo_t *info, void *context)
{
    (void)signum, (void)context;
    if (!armed || info->si_code != SI_TIMER)
        return;
    int saved = errno;
    uint64_t overruns = info->si_overrun > 0 ? (uint64_t)info->si_overrun : 0;
    pg_tracer_acc_add(PG_ACC_CPU_NS, interval_ns * (1 + overruns));
    errno = saved;
}

/* Install the handler on a free real-time signal; reuse ours. */
static int install_handler(void)
{
    if (cpu_signal)
        return PG_OK;
    for (int signum = SIGRTMIN; signum <= SIGRTMAX; signum++) {
        struct sigaction current;
        if (sigaction(signum, NULL, &current) != 0 || current.sa_handler != SIG_DFL ||
            (current.sa_flags & SA_SIGINFO))
            continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_cpu_signal;
        action.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&action.sa_mask);
        if (sigaction(signum, &action, NULL) == 0) {
            cpu_signal = signum;
            return PG_OK;
        }
    }
    return PG_ERR_LIMIT; /* every real-time signal is taken */
}

int pg_cpu_start(uint64_t period_ns)
{
    if (period_ns == 0)
        return PG_ERR_ARG;
    int rc = install_handler();
    if (rc < 0)
        return rc;
    rc = pg_tracer_acc_enable(1u << PG_ACC_CPU_NS);
    if (rc < 0)
        return rc;
    interval_ns = period_ns;
    armed = 1;
    return PG_OK;
}

int pg_cpu_signal(void)
{
    return cpu_signal;
}

void pg_cpu_thread_attach(pg_thread_t *thread)
{
    if (!armed || thread->cpu_timer_armed)
        return;
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = cpu_signal;
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t timer;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &event, &timer) != 0)
        return; /* no timer: this thread's CPU time stays unattributed */
    struct itimerspec spec;
    spec.it_interval.tv_sec = (time_t)(interval_ns / 1000000000u);
    spec.it_interval.tv_nsec = (long)(interval_ns % 1000000000u);
    spec.it_value = spec.it_interval;
    if (timer_settime(timer, 0, &spec, NULL) != 0) {
        timer_delete(timer);
        return;
    }
    thread->cpu_timer = timer;
    thread->cpu_timer_armed = 1;
}

void pg_cpu_thread_detach(pg_thread_t *thread)
{
    if (!thread->cpu_timer_armed)
        return;
    thread->cpu_timer_armed = 0;
    timer_delete(thread->cpu_timer);
}

void pg_cpu_stop(void)
{
    armed = 0;
}
