/* WebTTY Message helpers (see wmsg.h). */
#include "wmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

int wmsg_pack(const Webtty__Message *m, uint8_t **ret, size_t *ret_len) {
        size_t n = webtty__message__get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);

        if (!buf)
                return -ENOMEM;
        if (webtty__message__pack(m, buf) != n) {
                free(buf);
                return -EINVAL;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

/* Largest field number protobuf allows (2^29 - 1). */
#define FIELD_NUMBER_MAX 536870911u

/* protobuf-c keeps fields it does not know as unknown fields, and among them
 * some that protobuf-go refuses as invalid wire format: field number 0 written
 * as a multi-byte tag (80 00), and numbers above 2^29 - 1 (which protobuf-c
 * cannot even write back). Checks m and every sub-message it holds. */
static bool unknown_fields_valid(const ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        const uint8_t *base = (const uint8_t *) m;

        for (unsigned i = 0; i < m->n_unknown_fields; i++)
                if (m->unknown_fields[i].tag == 0 || m->unknown_fields[i].tag > FIELD_NUMBER_MAX)
                        return false;

        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                const ProtobufCMessage *sub;

                if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                        continue;
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *) (base + f->quantifier_offset);
                        ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *) (base + f->offset);

                        for (size_t k = 0; k < n; k++)
                                if (v[k] && !unknown_fields_valid(v[k]))
                                        return false;
                        continue;
                }
                /* A oneof member is there only while its case is selected. */
                if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    *(const uint32_t *) (base + f->quantifier_offset) != f->id)
                        continue;
                sub = *(ProtobufCMessage *const *) (base + f->offset);
                if (sub && !unknown_fields_valid(sub))
                        return false;
        }
        return true;
}

Webtty__Message *wmsg_unpack(const uint8_t *buf, size_t len, char *err, size_t errlen) {
        Webtty__Message *m = webtty__message__unpack(NULL, len, buf);

        if (m && !unknown_fields_valid(&m->base)) {
                webtty__message__free_unpacked(m, NULL);
                m = NULL;
        }
        if (!m && err)
                snprintf(err, errlen,
                         "failed to unmarshal protobuf: proto: cannot parse invalid wire-format data");
        return m;
}

void wmsg_free(Webtty__Message *m) {
        if (m)
                webtty__message__free_unpacked(m, NULL);
}

/* ---- zero-copy Data view ---------------------------------------------- */

typedef struct cursor {
        const uint8_t *p, *end;
} cursor;

/* Reads a varint of at most max_bytes bytes; false when truncated or too long. */
static bool get_varint_max(cursor *c, uint64_t *ret, unsigned max_bytes) {
        uint64_t v = 0;

        for (unsigned i = 0, shift = 0; i < max_bytes && c->p < c->end; i++, shift += 7) {
                uint8_t b = *c->p++;
                if (shift == 63 && b > 1)
                        return false;
                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return true;
                }
        }
        return false;
}

/* A value varint: up to 10 bytes, as protobuf-c scans them. */
static bool get_varint(cursor *c, uint64_t *ret) {
        return get_varint_max(c, ret, 10);
}

/* protobuf-c refuses a tag or a length prefix longer than 5 bytes (even a padded small
 * one), so the view must too or it would accept what wmsg_unpack refuses. */
#define WMSG_HEADER_VARINT_MAX 5

/* A length-delimited field's body, by subtraction so no length overflows. */
static bool get_bytes(cursor *c, cursor *body) {
        uint64_t n;

        if (!get_varint_max(c, &n, WMSG_HEADER_VARINT_MAX) || n > (uint64_t) (c->end - c->p))
                return false;
        body->p = c->p;
        body->end = c->p + n;
        c->p += n;
        return true;
}

/* Field number and wire type of the next tag; false at a malformed tag. */
static bool get_tag(cursor *c, uint32_t *field, unsigned *wire) {
        uint64_t t;

        if (!get_varint_max(c, &t, WMSG_HEADER_VARINT_MAX) || (t >> 3) == 0 || (t >> 3) > UINT32_MAX)
                return false;
        *field = (uint32_t) (t >> 3);
        *wire = (unsigned) (t & 7);
        return true;
}

/* Marks field f (1..31) seen; false if it was already (repeated field). */
static bool first_time(uint32_t *seen, uint32_t f) {
        if (*seen & (1u << f))
                return false;
        *seen |= 1u << f;
        return true;
}

/* An enum or uint32 varint protobuf-c would store unchanged. */
static bool get_u32(cursor *c, uint32_t *ret) {
        uint64_t v;

        if (!get_varint(c, &v) || v > INT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static void set_bytes(ProtobufCBinaryData *b, const cursor *body) {
        b->data = (uint8_t *) body->p;
        b->len = (size_t) (body->end - body->p);
}

static bool view_crypto(cursor c, Webtty__PayloadCrypto *pc) {
        uint32_t seen = 0, f, u;
        unsigned w;
        cursor b;

        while (c.p < c.end) {
                if (!get_tag(&c, &f, &w) || f > 4 || !first_time(&seen, f))
                        return false;
                if (f == 1 && w == 0 && get_u32(&c, &u))
                        pc->payload_suite = (Webtty__PayloadCipherSuite) u;
                else if (f != 1 && w == 2 && get_bytes(&c, &b))
                        set_bytes(f == 2 ? &pc->payload_key_id : f == 3 ? &pc->nonce : &pc->aad_context, &b);
                else
                        return false;
        }
        return true;
}

static bool view_encrypted(cursor c, wmsg_data_view *v) {
        uint32_t seen = 0, f;
        unsigned w;
        cursor b;

        while (c.p < c.end) {
                if (!get_tag(&c, &f, &w) || (f != 1 && f != 2 && f != 4) || !first_time(&seen, f))
                        return false;
                if (f == 2) {
                        uint64_t n;
                        if (w != 0 || !get_varint(&c, &n) || n > UINT32_MAX)
                                return false;
                        v->encrypted.plaintext_length = (uint32_t) n;
                        continue;
                }
                if (w != 2 || !get_bytes(&c, &b))
                        return false;
                if (f == 1)
                        set_bytes(&v->encrypted.ciphertext, &b);
                else {
                        v->encrypted.payload_crypto = &v->crypto;
                        if (!view_crypto(b, &v->crypto))
                                return false;
                }
        }
        return true;
}

static bool view_data(cursor c, wmsg_data_view *v) {
        uint32_t seen = 0, f, u;
        unsigned w;
        cursor b;

        while (c.p < c.end) {
                if (!get_tag(&c, &f, &w) || f > 4 || !first_time(&seen, f))
                        return false;
                if (f == 1) {
                        if (w != 0 || !get_u32(&c, &u))
                                return false;
                        v->data.type = (Webtty__Data__Type) u;
                        continue;
                }
                /* One payload member only: protobuf's last-one-wins is left to protobuf-c. */
                if (w != 2 || !get_bytes(&c, &b) || v->data.payload_case != WEBTTY__DATA__PAYLOAD__NOT_SET)
                        return false;
                if (f == 2) {
                        v->data.payload_case = WEBTTY__DATA__PAYLOAD_DATA;
                        set_bytes(&v->data.data, &b);
                } else if (f == 3) {
                        if (b.p != b.end) /* an EndOfStream with content: unusual */
                                return false;
                        v->data.payload_case = WEBTTY__DATA__PAYLOAD_EOS;
                        v->data.eos = &v->eos;
                } else {
                        v->data.payload_case = WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA;
                        v->data.encrypted_data = &v->encrypted;
                        if (!view_encrypted(b, v))
                                return false;
                }
        }
        return true;
}

int wmsg_data_view_parse(const uint8_t *buf, size_t len, wmsg_data_view *v) {
        cursor c = {buf, buf + len}, body;
        uint32_t f;
        unsigned w;

        *v = (wmsg_data_view){
                .data = WEBTTY__DATA__INIT,
                .eos = WEBTTY__END_OF_STREAM__INIT,
                .encrypted = WEBTTY__ENCRYPTED_PAYLOAD__INIT,
                .crypto = WEBTTY__PAYLOAD_CRYPTO__INIT,
        };
        if (!buf || !get_tag(&c, &f, &w) || f != 5 || w != 2 || !get_bytes(&c, &body) || c.p != c.end)
                return 0;
        return view_data(body, v) ? 1 : 0;
}

static size_t varint_size(uint64_t v) {
        size_t n = 1;
        while (v >= 0x80) {
                v >>= 7;
                n++;
        }
        return n;
}

static uint8_t *put_varint_before(uint8_t *end, uint64_t v) {
        size_t n = varint_size(v);
        uint8_t *p = end - n;
        for (size_t i = 0; i < n; i++) {
                p[i] = (uint8_t) ((v & 0x7f) | (i + 1 < n ? 0x80 : 0));
                v >>= 7;
        }
        return p;
}

size_t wmsg_data_header(uint8_t *end, Webtty__Data__Type type, size_t len) {
        uint8_t *p = end;
        size_t inner;

        /* Data: [type] then field 2 (bytes) = payload. */
        p = put_varint_before(p, len);
        *--p = 0x12;
        if (type != WEBTTY__DATA__TYPE__TYPE_STDIN) {
                p = put_varint_before(p, (uint64_t) type);
                *--p = 0x08;
        }
        inner = (size_t) (end - p) + len;
        /* Message: field 5 (Data) length-delimited. */
        p = put_varint_before(p, inner);
        *--p = 0x2a;
        return (size_t) (end - p);
}

#define PACK_PAYLOAD(field, case_, value)                                                                   \
        do {                                                                                                \
                Webtty__Message m = WEBTTY__MESSAGE__INIT;                                                  \
                m.payload_case = case_;                                                                     \
                m.field = (value);                                                                          \
                return wmsg_pack(&m, ret, ret_len);                                                         \
        } while (0)

int wmsg_pack_ack(uint8_t **ret, size_t *ret_len) {
        Webtty__Ack a = WEBTTY__ACK__INIT;
        PACK_PAYLOAD(ack, WEBTTY__MESSAGE__PAYLOAD_ACK, &a);
}

int wmsg_pack_heartbeat(uint8_t **ret, size_t *ret_len) {
        Webtty__Heartbeat h = WEBTTY__HEARTBEAT__INIT;
        PACK_PAYLOAD(heartbeat, WEBTTY__MESSAGE__PAYLOAD_HEARTBEAT, &h);
}

int wmsg_pack_close(int32_t return_code, uint8_t **ret, size_t *ret_len) {
        Webtty__Close c = WEBTTY__CLOSE__INIT;
        c.return_code = return_code;
        PACK_PAYLOAD(close, WEBTTY__MESSAGE__PAYLOAD_CLOSE, &c);
}

int wmsg_pack_error(const char *msg, uint8_t **ret, size_t *ret_len) {
        Webtty__Error e = WEBTTY__ERROR__INIT;
        e.msg = (char *) msg;
        PACK_PAYLOAD(error, WEBTTY__MESSAGE__PAYLOAD_ERROR, &e);
}

int wmsg_pack_protocol_error(int code, const char *msg, uint8_t **ret, size_t *ret_len) {
        Webtty__ProtocolError e = WEBTTY__PROTOCOL_ERROR__INIT;
        e.code = (Webtty__ProtocolErrorCode) code;
        e.msg = (char *) msg;
        PACK_PAYLOAD(protocol_error, WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR, &e);
}

int wmsg_pack_eos(Webtty__Data__Type type, uint8_t **ret, size_t *ret_len) {
        Webtty__EndOfStream eos = WEBTTY__END_OF_STREAM__INIT;
        Webtty__Data d = WEBTTY__DATA__INIT;
        d.type = type;
        d.payload_case = WEBTTY__DATA__PAYLOAD_EOS;
        d.eos = &eos;
        PACK_PAYLOAD(data, WEBTTY__MESSAGE__PAYLOAD_DATA, &d);
}

int wmsg_pack_resize(uint32_t rows, uint32_t cols, uint8_t **ret, size_t *ret_len) {
        Webtty__TerminalSize ts = WEBTTY__TERMINAL_SIZE__INIT;
        Webtty__Parameter p = WEBTTY__PARAMETER__INIT;
        ts.row = rows;
        ts.col = cols;
        p.parameter_case = WEBTTY__PARAMETER__PARAMETER_TERMINAL_SIZE;
        p.terminal_size = &ts;
        PACK_PAYLOAD(parameter, WEBTTY__MESSAGE__PAYLOAD_PARAMETER, &p);
}

const char *wmsg_data_type_name(int type) {
        switch (type) {
        case WEBTTY__DATA__TYPE__TYPE_STDIN:
                return "TYPE_STDIN";
        case WEBTTY__DATA__TYPE__TYPE_STDOUT:
                return "TYPE_STDOUT";
        case WEBTTY__DATA__TYPE__TYPE_STDERR:
                return "TYPE_STDERR";
        default:
                return "TYPE_UNKNOWN";
        }
}

const char *wmsg_payload_name(const Webtty__Message *m) {
        static const char *const names[] = {
                [WEBTTY__MESSAGE__PAYLOAD_OPEN] = "*pb.Message_Open",
                [WEBTTY__MESSAGE__PAYLOAD_ACK] = "*pb.Message_Ack",
                [WEBTTY__MESSAGE__PAYLOAD_ERROR] = "*pb.Message_Error",
                [WEBTTY__MESSAGE__PAYLOAD_CLOSE] = "*pb.Message_Close",
                [WEBTTY__MESSAGE__PAYLOAD_DATA] = "*pb.Message_Data",
                [WEBTTY__MESSAGE__PAYLOAD_PARAMETER] = "*pb.Message_Parameter",
                [WEBTTY__MESSAGE__PAYLOAD_HEARTBEAT] = "*pb.Message_Heartbeat",
                [WEBTTY__MESSAGE__PAYLOAD_ATTACH] = "*pb.Message_Attach",
                [WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO] = "*pb.Message_ServerHello",
                [WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR] = "*pb.Message_ProtocolError",
                [WEBTTY__MESSAGE__PAYLOAD_CLIENT_HELLO] = "*pb.Message_ClientHello",
        };
        if (!m || (size_t) m->payload_case >= ELEMENTSOF(names) || !names[m->payload_case])
                return "<nil>";
        return names[m->payload_case];
}
