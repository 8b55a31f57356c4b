#include "pg_checksums.h"

#include "pg_bytes.h"
#include "pg_format.h"

void pg_checksums_fix(uint8_t *data, size_t size)
{
    size_t at = PG_FORMAT_HEADER_SIZE;
    while (size >= at && size - at >= PG_FORMAT_SECTION_HEADER_SIZE) {
        uint64_t length = 0;
        for (int i = 0; i < 8; i++)
            length |= (uint64_t)data[at + 8 + i] << (8 * i);
        size_t payload = at + PG_FORMAT_SECTION_HEADER_SIZE;
        if (length > size - payload)
            return;
        uint32_t crc = pg_crc32(0, data + payload, (size_t)length);
        for (int i = 0; i < 4; i++)
            data[at + 4 + i] = (uint8_t)(crc >> (8 * i));
        at = payload + (size_t)length;
    }
}
