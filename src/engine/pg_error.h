/* Error codes of the engine.
 *
 * Engine functions return 0 on success or one of these negative codes.  The
 * binding layer turns a code into an exception in exactly one place, using
 * pg_error_message() for the text.
 */
#ifndef PG_ERROR_H
#define PG_ERROR_H

typedef enum pg_error {
    PG_OK = 0,
    PG_ERR_NOMEM = -1,       /* an allocation failed */
    PG_ERR_IO = -2,          /* open/read/write/rename failed (see errno) */
    PG_ERR_NOT_PROFILE = -3, /* the file does not start with the magic bytes */
    PG_ERR_VERSION = -4,     /* a format version this reader does not know */
    PG_ERR_TRUNCATED = -5,   /* the file ends inside a section */
    PG_ERR_CORRUPT = -6,     /* a checksum or an index does not hold */
    PG_ERR_LIMIT = -7,       /* a count exceeds what the format allows */
    PG_ERR_ARG = -8,         /* a caller passed an invalid argument */
} pg_error_t;

/* A static, one-line, lower-case description of code. Never NULL. */
const char *pg_error_message(int code);

#endif
