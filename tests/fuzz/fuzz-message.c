/* libFuzzer target for lib/wmsg.c: one serialized Message, as a peer sends it.
 *
 * wmsg_unpack() must either refuse with the reference's error text or give a
 * Message whose every field the daemon reads is sound (strings terminated
 * inside their allocation, arrays as long as their counts). A parsed Message
 * is packed again with wmsg_pack(); that must parse, and packing it once more
 * must give the same bytes. A Data with a byte payload must come out of
 * wmsg_data_header() + payload exactly as protobuf-c packs it. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "wmsg.h"

#define FUZZ_MAX_INPUT (1024u * 1024u)
#define UNMARSHAL_PREFIX "failed to unmarshal protobuf: "

/* Always evaluated, also under -DNDEBUG. */
#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

DEFINE_TRIVIAL_CLEANUP_FUNC(Webtty__Message, wmsg_free);

/* Folded into a volatile so the reads are not optimised away. */
static volatile uint64_t sink;

static void touch(const void *p, size_t n) {
        const uint8_t *b = p;
        uint64_t h = sink;

        for (size_t i = 0; i < n; i++)
                h = h * 31 + b[i];
        sink = h;
}

static void touch_str(const char *s) {
        CHECK(s); /* protobuf-c gives "" for an absent proto3 string */
        touch(s, strlen(s) + 1);
}

static void touch_u(uint64_t v) {
        sink = sink * 31 + v;
}

static void touch_bytes(const ProtobufCBinaryData *b) {
        CHECK(b->len == 0 || b->data);
        touch(b->data, b->len);
}

static void touch_string_value(const Webtty__StringValue *v) {
        if (v)
                touch_str(v->value);
}

static void touch_client_proof(const Webtty__ClientProof *p) {
        if (!p)
                return;
        touch_string_value(p->principal_id);
        touch_bytes(&p->signing_key_id);
        touch_bytes(&p->signing_public_key);
        touch_u(p->signature_suite);
        touch_bytes(&p->transcript_hash);
        touch_bytes(&p->signature);
        touch_str(p->issued_at);
        touch_str(p->expires_at);
        touch_string_value(p->device_id);
        touch_string_value(p->browser_id);
        if (p->credential)
                touch_bytes(&p->credential->value);
}

static void touch_grant(const Webtty__SessionKeyGrant *g) {
        if (!g)
                return;
        touch_u(g->payload_suite);
        touch_bytes(&g->payload_key_id);
        CHECK(g->n_key_envelopes == 0 || g->key_envelopes);
        for (size_t i = 0; i < g->n_key_envelopes; i++) {
                const Webtty__KeyEnvelope *k = g->key_envelopes[i];

                CHECK(k);
                touch_bytes(&k->recipient_key_id);
                touch_bytes(&k->encapsulated_key);
                touch_bytes(&k->wrapped_key);
        }
        touch_bytes(&g->key_context);
        touch_u(g->key_envelope_suite);
}

/* What webttyd's session and spawn code read from Open. */
static void touch_open(const Webtty__Open *o) {
        const Webtty__Config *c = o->config;

        CHECK(o->n_capabilities == 0 || o->capabilities);
        for (size_t i = 0; i < o->n_capabilities; i++)
                touch_u((uint64_t) o->capabilities[i]);
        touch_grant(o->session_key_grant);
        touch_client_proof(o->client_proof);
        if (!c)
                return;
        if (c->options) {
                touch_u(c->options->interactive);
                touch_u(c->options->allocate_tty);
                touch_u(c->options->send_heartbeat);
        }
        CHECK(c->n_cmd_args == 0 || c->cmd_args);
        for (size_t i = 0; i < c->n_cmd_args; i++)
                touch_str(c->cmd_args[i]);
        CHECK(c->n_env_vars == 0 || c->env_vars);
        for (size_t i = 0; i < c->n_env_vars; i++) {
                CHECK(c->env_vars[i]);
                touch_str(c->env_vars[i]->key);
                touch_str(c->env_vars[i]->value);
        }
        if (c->workdir)
                touch_str(c->workdir->value);
        if (c->username) {
                switch (c->username->payload_case) {
                case WEBTTY__USERNAME__PAYLOAD_NAME:
                        touch_str(c->username->name);
                        break;
                case WEBTTY__USERNAME__PAYLOAD_ID:
                        touch_u(c->username->id);
                        break;
                default:
                        break;
                }
        }
}

/* A Data with a byte payload, packed by protobuf-c from just its fields,
 * must equal wmsg_data_header() + payload. */
static void check_data_header(Webtty__Data__Type type, const ProtobufCBinaryData *payload) {
        Webtty__Message m = WEBTTY__MESSAGE__INIT;
        Webtty__Data d = WEBTTY__DATA__INIT;
        _cleanup_free_ uint8_t *packed = NULL, *mine = NULL;
        size_t plen, h;

        d.type = type;
        d.payload_case = WEBTTY__DATA__PAYLOAD_DATA;
        d.data = *payload;
        m.payload_case = WEBTTY__MESSAGE__PAYLOAD_DATA;
        m.data = &d;
        if (wmsg_pack(&m, &packed, &plen) < 0)
                return;

        mine = malloc(WMSG_DATA_HEADER_MAX + payload->len + 1);
        if (!mine)
                return;
        h = wmsg_data_header(mine + WMSG_DATA_HEADER_MAX, type, payload->len);
        CHECK(h > 0 && h <= WMSG_DATA_HEADER_MAX);
        if (payload->len)
                memcpy(mine + WMSG_DATA_HEADER_MAX, payload->data, payload->len);
        CHECK(plen == h + payload->len);
        CHECK(memcmp(packed, mine + WMSG_DATA_HEADER_MAX - h, plen) == 0);
}

static void touch_data(const Webtty__Data *d) {
        touch_u((uint64_t) d->type);
        touch_str(wmsg_data_type_name(d->type));
        switch (d->payload_case) {
        case WEBTTY__DATA__PAYLOAD_DATA:
                touch_bytes(&d->data);
                if (d->type >= WEBTTY__DATA__TYPE__TYPE_STDIN && d->type <= WEBTTY__DATA__TYPE__TYPE_STDERR)
                        check_data_header(d->type, &d->data);
                break;
        case WEBTTY__DATA__PAYLOAD_EOS:
                CHECK(d->eos);
                break;
        case WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA:
                CHECK(d->encrypted_data);
                touch_bytes(&d->encrypted_data->ciphertext);
                touch_u(d->encrypted_data->plaintext_length);
                if (d->encrypted_data->payload_crypto) {
                        const Webtty__PayloadCrypto *pc = d->encrypted_data->payload_crypto;

                        touch_u(pc->payload_suite);
                        touch_bytes(&pc->payload_key_id);
                        touch_bytes(&pc->nonce);
                        touch_bytes(&pc->aad_context);
                }
                break;
        default:
                break;
        }
}

static void touch_message(const Webtty__Message *m) {
        touch_str(wmsg_payload_name(m));
        switch (m->payload_case) {
        case WEBTTY__MESSAGE__PAYLOAD_OPEN:
                CHECK(m->open);
                touch_open(m->open);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_ERROR:
                CHECK(m->error);
                touch_str(m->error->msg);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_CLOSE:
                CHECK(m->close);
                touch_u((uint64_t) m->close->return_code);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_DATA:
                CHECK(m->data);
                touch_data(m->data);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_PARAMETER:
                CHECK(m->parameter);
                if (m->parameter->parameter_case == WEBTTY__PARAMETER__PARAMETER_TERMINAL_SIZE &&
                    m->parameter->terminal_size) {
                        const Webtty__TerminalSize *ts = m->parameter->terminal_size;

                        touch_u(ts->row);
                        touch_u(ts->col);
                        touch_u(ts->xpixel);
                        touch_u(ts->ypixel);
                }
                break;
        case WEBTTY__MESSAGE__PAYLOAD_PROTOCOL_ERROR:
                CHECK(m->protocol_error);
                touch_u((uint64_t) m->protocol_error->code);
                touch_str(m->protocol_error->msg);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_CLIENT_HELLO:
                CHECK(m->client_hello);
                touch_u(m->client_hello->protocol_version);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_ATTACH:
                CHECK(m->attach);
                touch_str(m->attach->session_id);
                touch_str(m->attach->participant_id);
                touch_bytes(&m->attach->attach_grant);
                touch_client_proof(m->attach->client_proof);
                break;
        case WEBTTY__MESSAGE__PAYLOAD_SERVER_HELLO:
                CHECK(m->server_hello);
                touch_str(m->server_hello->session_id);
                touch_bytes(&m->server_hello->session_nonce);
                break;
        default:
                break;
        }
}

static bool same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b) {
        return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* The zero-copy Data view must read exactly what protobuf-c reads. */
static void check_view(const Webtty__Message *m, const wmsg_data_view *v) {
        const Webtty__Data *d;

        CHECK(m && m->payload_case == WEBTTY__MESSAGE__PAYLOAD_DATA && m->data);
        d = m->data;
        CHECK(d->type == v->data.type);
        CHECK(d->payload_case == v->data.payload_case);
        if (d->payload_case == WEBTTY__DATA__PAYLOAD_DATA)
                CHECK(same_bytes(&d->data, &v->data.data));
        if (d->payload_case == WEBTTY__DATA__PAYLOAD_ENCRYPTED_DATA) {
                const Webtty__EncryptedPayload *e = d->encrypted_data, *ve = v->data.encrypted_data;
                CHECK(e && ve);
                CHECK(same_bytes(&e->ciphertext, &ve->ciphertext));
                CHECK(e->plaintext_length == ve->plaintext_length);
                CHECK(!e->payload_crypto == !ve->payload_crypto);
                if (e->payload_crypto) {
                        CHECK(e->payload_crypto->payload_suite == ve->payload_crypto->payload_suite);
                        CHECK(same_bytes(&e->payload_crypto->payload_key_id,
                                         &ve->payload_crypto->payload_key_id));
                        CHECK(same_bytes(&e->payload_crypto->nonce, &ve->payload_crypto->nonce));
                        CHECK(same_bytes(&e->payload_crypto->aad_context, &ve->payload_crypto->aad_context));
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(wmsg_freep) Webtty__Message *m = NULL, *again = NULL;
        _cleanup_free_ uint8_t *packed = NULL, *packed2 = NULL;
        size_t plen, plen2;
        char err[256];
        wmsg_data_view view;
        int viewed;

        if (size > FUZZ_MAX_INPUT)
                return 0;

        err[0] = '\0';
        viewed = wmsg_data_view_parse(data, size, &view);
        CHECK(viewed == 0 || viewed == 1);
        m = wmsg_unpack(data, size, err, sizeof(err));
        if (viewed)
                check_view(m, &view);
        if (!m) {
                CHECK(strncmp(err, UNMARSHAL_PREFIX, strlen(UNMARSHAL_PREFIX)) == 0);
                return 0;
        }
        touch_message(m);

        /* Write back, read again, write again: a fixed point. */
        if (wmsg_pack(m, &packed, &plen) < 0)
                return 0;
        again = wmsg_unpack(packed, plen, err, sizeof(err));
        CHECK(again);
        CHECK(again->payload_case == m->payload_case);
        touch_message(again);
        if (wmsg_pack(again, &packed2, &plen2) < 0)
                return 0;
        CHECK(plen2 == plen);
        CHECK(memcmp(packed, packed2, plen) == 0);
        return 0;
}
