/* WebTTY Message helpers on top of the protobuf-c code generated from
 * webtty.proto: packing, bounded unpacking, and allocation-free encoders for
 * the hot-path messages (Data with a byte payload). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "webtty.pb-c.h"

#define WMSG_DEFAULT_MAX_SIZE (1024u * 1024u)

/* Room a caller must reserve in front of a payload for wmsg_data_header(). */
#define WMSG_DATA_HEADER_MAX 16

/* Serialises m into a newly malloc'd buffer. Returns 0 or -ENOMEM. */
int wmsg_pack(const Webtty__Message *m, uint8_t **ret, size_t *ret_len);

/* Parses one Message. On failure returns NULL and writes the reason into err
 * in the reference's words ("failed to unmarshal protobuf: ..."). */
Webtty__Message *wmsg_unpack(const uint8_t *buf, size_t len, char *err, size_t errlen);
void wmsg_free(Webtty__Message *m);

/* Writes, so that it ends exactly at `end`, the bytes that precede a `len`-byte
 * payload to make Message{data{type, data: payload}}. Returns the header size
 * (at most WMSG_DATA_HEADER_MAX); the message is end-ret .. end+len. */
size_t wmsg_data_header(uint8_t *end, Webtty__Data__Type type, size_t len);

/* A Message that is exactly one Data, decoded without copying: the byte
 * fields point into the input buffer (valid while it is). The hot path of
 * both ends (output, stdin) uses it instead of protobuf-c, which copies every
 * payload. */
typedef struct wmsg_data_view {
        Webtty__Data data; /* what to hand on; the pointers below are its sub-messages */
        Webtty__EndOfStream eos;
        Webtty__EncryptedPayload encrypted;
        Webtty__PayloadCrypto crypto;
} wmsg_data_view;

/* Returns 1 when buf is Message{data} in the plain form senders produce: each
 * field at most once, at most one payload member, no unknown fields, every
 * length inside the buffer. Returns 0 for anything else (another message,
 * or a valid but unusual encoding), and the caller parses with wmsg_unpack(),
 * which also reports malformed input: the view never accepts what protobuf-c
 * would refuse, nor gives a different reading. */
int wmsg_data_view_parse(const uint8_t *buf, size_t len, wmsg_data_view *v);

/* Convenience builders; each returns 0 or -ENOMEM with a malloc'd buffer. */
int wmsg_pack_ack(uint8_t **ret, size_t *ret_len);
int wmsg_pack_heartbeat(uint8_t **ret, size_t *ret_len);
int wmsg_pack_close(int32_t return_code, uint8_t **ret, size_t *ret_len);
int wmsg_pack_error(const char *msg, uint8_t **ret, size_t *ret_len);
int wmsg_pack_protocol_error(int code, const char *msg, uint8_t **ret, size_t *ret_len);
int wmsg_pack_eos(Webtty__Data__Type type, uint8_t **ret, size_t *ret_len);
int wmsg_pack_resize(uint32_t rows, uint32_t cols, uint8_t **ret, size_t *ret_len);

/* "TYPE_STDIN" etc., as protobuf-go prints them. */
const char *wmsg_data_type_name(int type);
/* A short name of the Message's payload for "unexpected message: <type>". */
const char *wmsg_payload_name(const Webtty__Message *m);
