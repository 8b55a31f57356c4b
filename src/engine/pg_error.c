#include "pg_error.h"

static const char *const messages[] = {
    [0] = "ok",
    [1] = "out of memory",
    [2] = "input/output error",
    [3] = "not a pipegauge profile (bad magic bytes)",
    [4] = "unsupported profile format version",
    [5] = "profile file is truncated",
    [6] = "profile file is corrupt",
    [7] = "profile exceeds a format limit",
    [8] = "invalid argument",
};

const char *pg_error_message(int code)
{
    int index = -code;
    if (index < 0 || index >= (int)(sizeof messages / sizeof messages[0]))
        return "unknown error";
    return messages[index];
}
