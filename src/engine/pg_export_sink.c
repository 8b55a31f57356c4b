/* The exporters' output path: a fixed buffer in front of a FILE*, an
 * optional gzip stream between the two, and the text encodings every
 * format shares (UTF-8 clean-up, JSON string escaping).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pg_error.h"
#include "pg_export.h"

static void fail_io(pg_export_sink_t *sink)
{
    if (errno == 0)
        errno = EIO;
    sink->failed = PG_ERR_IO;
}

static void write_file(pg_export_sink_t *sink, const unsigned char *data, size_t size)
{
    if (size && fwrite(data, 1, size, sink->file) != size)
        fail_io(sink);
}

/* Push the buffered bytes out, through deflate when gzipping; finish != 0
 * ends the gzip stream (its trailer carries the CRC and length). */
static void drain(pg_export_sink_t *sink, int finish)
{
    if (sink->failed)
        return;
    if (!sink->zstream) {
        write_file(sink, sink->buffer, sink->used);
        sink->used = 0;
        return;
    }
    z_stream *z = sink->zstream;
    z->next_in = sink->buffer;
    z->avail_in = (uInt)sink->used;
    int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    for (;;) {
        z->next_out = sink->zbuffer;
        z->avail_out = PG_EXPORT_BUFFER_SIZE;
        int rc = deflate(z, flush);
        if (rc == Z_STREAM_ERROR) {
            sink->failed = PG_ERR_NOMEM;
            return;
        }
        write_file(sink, sink->zbuffer, PG_EXPORT_BUFFER_SIZE - z->avail_out);
        if (sink->failed)
            return;
        if (finish ? rc == Z_STREAM_END : z->avail_out != 0)
            break;
    }
    sink->used = 0;
}

int pg_export_sink_open(pg_export_sink_t *sink, FILE *file, int gzip)
{
    memset(sink, 0, sizeof *sink);
    sink->file = file;
    sink->buffer = malloc(PG_EXPORT_BUFFER_SIZE);
    if (!sink->buffer)
        return PG_ERR_NOMEM;
    if (!gzip)
        return PG_OK;
    z_stream *z = calloc(1, sizeof *z);
    sink->zbuffer = malloc(PG_EXPORT_BUFFER_SIZE);
    if (!z || !sink->zbuffer) {
        free(z);
        return PG_ERR_NOMEM;
    }
    /* 15 + 16: a 32 KiB window with a gzip header and trailer. */
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        free(z);
        return PG_ERR_NOMEM;
    }
    sink->zstream = z;
    return PG_OK;
}

int pg_export_sink_finish(pg_export_sink_t *sink)
{
    drain(sink, 1);
    return sink->failed;
}

void pg_export_sink_release(pg_export_sink_t *sink)
{
    if (sink->zstream) {
        deflateEnd(sink->zstream);
        free(sink->zstream);
    }
    free(sink->zbuffer);
    free(sink->buffer);
    memset(sink, 0, sizeof *sink);
}

uint64_t pg_export_sink_memory(const pg_export_sink_t *sink)
{
    /* deflate's own state: about 256 KiB at level 6, window 15, memLevel 8. */
    return PG_EXPORT_BUFFER_SIZE * (sink->zbuffer ? 2u : 1u) +
           (sink->zstream ? sizeof(z_stream) + (1u << 18) : 0u);
}

void pg_export_put(pg_export_sink_t *sink, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    while (size && !sink->failed) {
        size_t room = PG_EXPORT_BUFFER_SIZE - sink->used;
        size_t n = size < room ? size : room;
        memcpy(sink->buffer + sink->used, bytes, n);
        sink->used += n;
        sink->bytes_in += n;
        bytes += n;
        size -= n;
        if (sink->used == PG_EXPORT_BUFFER_SIZE)
            drain(sink, 0);
    }
}

void pg_export_puts(pg_export_sink_t *sink, const char *text)
{
    pg_export_put(sink, text, strlen(text));
}

void pg_export_printf(pg_export_sink_t *sink, const char *format, ...)
{
    char text[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof text) {
        sink->failed = sink->failed ? sink->failed : PG_ERR_ARG;
        return;
    }
    pg_export_put(sink, text, (size_t)n);
}

void pg_export_put_u64(pg_export_sink_t *sink, uint64_t value)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    pg_export_put(sink, digits + sizeof digits - n, n);
}

/* Length of the well-formed UTF-8 sequence at text (Unicode 15, table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *text, size_t left)
{
    unsigned char c = text[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char low = 0x80, high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            low = 0xa0;
        else if (c == 0xed)
            high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            low = 0x90;
        else if (c == 0xf4)
            high = 0x8f;
    } else
        return 0;
    if (left < n || text[1] < low || text[1] > high)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (text[i] < 0x80 || text[i] > 0xbf)
            return 0;
    return n;
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

size_t pg_export_utf8_clean_length(const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t total = 0;
    for (size_t at = 0; at < length;) {
        size_t n = utf8_sequence(p + at, length - at);
        total += n ? n : 3;
        at += n ? n : 1;
    }
    return total;
}

void pg_export_put_utf8_clean(pg_export_sink_t *sink, const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t start = 0, at = 0;
    while (at < length) {
        size_t n = utf8_sequence(p + at, length - at);
        if (n) {
            at += n;
            continue;
        }
        pg_export_put(sink, text + start, at - start);
        pg_export_put(sink, replacement, 3);
        start = ++at;
    }
    pg_export_put(sink, text + start, at - start);
}

void pg_export_put_json_string(pg_export_sink_t *sink, const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t start = 0, at = 0;
    while (at < length) {
        unsigned char c = p[at];
        size_t n = utf8_sequence(p + at, length - at);
        const char *escape = NULL;
        char numeric[8];
        if (n == 0)
            escape = "\\ufffd";
        else if (c == '"')
            escape = "\\\"";
        else if (c == '\\')
            escape = "\\\\";
        else if (c == '\n')
            escape = "\\n";
        else if (c == '\r')
            escape = "\\r";
        else if (c == '\t')
            escape = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(numeric, sizeof numeric, "\\u%04x", c);
            escape = numeric;
        } else if (n == 3 && c == 0xe2 && p[at + 1] == 0x80 && (p[at + 2] & 0xfe) == 0xa8)
            escape = p[at + 2] == 0xa8 ? "\\u2028" : "\\u2029";
        if (!escape) {
            at += n;
            continue;
        }
        pg_export_put(sink, text + start, at - start);
        pg_export_puts(sink, escape);
        at += n ? n : 1;
        start = at;
    }
    pg_export_put(sink, text + start, at - start);
}
