#include "pg_clock.h"

#include <stdio.h>
#include <string.h>

int pg_clock_use_tsc = 0;
static pg_clock_mark_t origin; /* first pg_clock_init(): calibration base */

static int cpu_has_invariant_tsc(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    int constant = 0, nonstop = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
}

void pg_clock_init(void)
{
    static int done = 0;
    if (done)
        return;
    done = 1;
#if PG_CLOCK_HAVE_TSC
    pg_clock_use_tsc = cpu_has_invariant_tsc();
#endif
    origin = pg_clock_mark();
}

pg_clock_mark_t pg_clock_mark(void)
{
    pg_clock_mark_t mark;
    uint64_t before = pg_clock_monotonic_ns();
    mark.ticks = pg_clock_ticks();
    mark.ns = (before + pg_clock_monotonic_ns()) / 2;
    return mark;
}

double pg_clock_ns_per_tick(pg_clock_mark_t *end)
{
    if (!pg_clock_use_tsc)
        return 1.0;
    while (end->ns < origin.ns + 5000000u)
        *end = pg_clock_mark();
    if (end->ticks <= origin.ticks)
        return 1.0;
    return (double)(end->ns - origin.ns) / (double)(end->ticks - origin.ticks);
}
