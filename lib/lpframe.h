/* The plain transport's frame: U32 big-endian length, then that many bytes
 * of one serialized Message (spec 2.3). I/O-free so it can be fuzzed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LPFRAME_HEADER 4

/* Looks at the start of buf. Returns 1 with *msg, *msg_len set when a whole
 * frame is present (it occupies LPFRAME_HEADER + *msg_len bytes); 0 when more
 * bytes are needed (*msg_len is the announced size once the header is in,
 * else 0); -EMSGSIZE when the header announces more than max (*msg_len holds
 * the announced size for the error message). */
int lpframe_parse(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg, size_t *msg_len);

/* Writes the header for a len-byte message. */
void lpframe_header(uint8_t out[LPFRAME_HEADER], uint32_t len);
