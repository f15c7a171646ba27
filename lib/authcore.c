/* The protobuf-free half of the handshake (see authcore.h). */
#include "authcore.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "errmsg.h"
#include "macro.h"
#include "wbuf.h"

#define RFC3339_LAYOUT "2006-01-02T15:04:05Z07:00"
#define QUOTE_MAX 64

DEFINE_TRIVIAL_CLEANUP_FUNC(sigkey, sigkey_free);

int auth_now(const struct timespec *now, struct timespec *ret) {
        if (now) {
                *ret = *now;
                return 0;
        }
        return clock_gettime(CLOCK_REALTIME, ret) < 0 ? -errno : 0;
}

/* ---- Hashing ---- */

void auth_sha256(const void *data, size_t len, uint8_t out[AUTH_HASH_LEN]) {
        crypto_hash_sha256(out, len ? data : (const void *) "", len);
}

/* ---- Transcripts ---- */

static void put_suites(wbuf *b, const uint32_t *v, size_t n) {
        if (n > UINT32_MAX) {
                b->error = b->error ? b->error : -E2BIG;
                return;
        }
        wbuf_put_u32(b, (uint32_t) n);
        for (size_t i = 0; i < n; i++)
                wbuf_put_u32(b, v[i]);
}

/* What both transcripts start with (spec 6.2, 6.5): the domain, then the
 * fields that bind the proof to this server, connection and nonce. The two
 * transcript structs name these fields alike, so one macro serves both. */
#define PUT_SESSION_BINDING(b, domain, t)                                                                   \
        do {                                                                                                \
                wbuf_put_lp_str(b, domain);                                                                 \
                wbuf_put_u32(b, (t)->protocol_version);                                                     \
                wbuf_put_lps(b, (t)->transport);                                                            \
                wbuf_put_lps(b, (t)->workspace_id);                                                         \
                wbuf_put_lps(b, (t)->project_id);                                                           \
                wbuf_put_lps(b, (t)->server_id);                                                            \
                wbuf_put_lps(b, (t)->session_id);                                                           \
                wbuf_put_lp(b, (t)->server_signing_key_id.data, (t)->server_signing_key_id.len);            \
                wbuf_put_lp(b, (t)->server_encryption_key_id.data, (t)->server_encryption_key_id.len);      \
                wbuf_put_lp(b, (t)->server_nonce.data, (t)->server_nonce.len);                              \
                wbuf_put_u32(b, (t)->auth_requirement);                                                     \
        } while (0)

int auth_server_transcript_bytes(const auth_server_transcript *t, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!t)
                return -EINVAL;
        PUT_SESSION_BINDING(&b, AUTH_SERVER_DOMAIN, t);
        put_suites(&b, t->payload_suites, t->n_payload_suites);
        put_suites(&b, t->key_envelope_suites, t->n_key_envelope_suites);
        put_suites(&b, t->signature_suites, t->n_signature_suites);
        return wbuf_finish(&b, ret, ret_len);
}

int auth_client_transcript_bytes(const auth_client_transcript *t, uint8_t **ret, size_t *ret_len) {
        wbuf b = WBUF_INIT;

        if (!t)
                return -EINVAL;
        PUT_SESSION_BINDING(&b, AUTH_CLIENT_DOMAIN, t);
        wbuf_put_u32(&b, t->payload_suite);
        wbuf_put_u32(&b, t->key_envelope_suite);
        wbuf_put_lp(&b, t->session_key_grant_hash.data, t->session_key_grant_hash.len);
        wbuf_put_lp(&b, t->command_config_hash.data, t->command_config_hash.len);
        wbuf_put_lp(&b, t->attach_grant_hash.data, t->attach_grant_hash.len);
        wbuf_put_lps(&b, t->requested_role);
        wbuf_put_lps(&b, t->client_principal_id);
        wbuf_put_lp(&b, t->client_signing_key_id.data, t->client_signing_key_id.len);
        wbuf_put_lp(&b, t->client_credential_hash.data, t->client_credential_hash.len);
        wbuf_put_lps(&b, t->issued_at);
        wbuf_put_lps(&b, t->expires_at);
        return wbuf_finish(&b, ret, ret_len);
}

int auth_server_transcript_hash(const auth_server_transcript *t, uint8_t out[AUTH_HASH_LEN]) {
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t len = 0;
        int r;

        r = auth_server_transcript_bytes(t, &bytes, &len);
        if (r < 0)
                return r;
        auth_sha256(bytes, len, out);
        return 0;
}

int auth_client_transcript_hash(const auth_client_transcript *t, uint8_t out[AUTH_HASH_LEN]) {
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t len = 0;
        int r;

        r = auth_client_transcript_bytes(t, &bytes, &len);
        if (r < 0)
                return r;
        auth_sha256(bytes, len, out);
        return 0;
}

/* ---- Suites ---- */

int e2e_payload_suite_for_envelope(uint32_t envelope_suite, uint32_t *ret_payload_suite, char **ret_error) {
        switch (envelope_suite) {
        case E2E_ENVELOPE_SUITE_HPKE_X25519:
                *ret_payload_suite = E2E_PAYLOAD_SUITE_AES_256_GCM;
                return 0;
        case E2E_ENVELOPE_SUITE_P256:
                *ret_payload_suite = E2E_PAYLOAD_SUITE_AES_256_GCM_RANDOM_NONCE;
                return 0;
        default:
                return errmsg_set(ret_error, -EPROTONOSUPPORT, "unsupported E2E key envelope suite %" PRIu32,
                                  envelope_suite);
        }
}

int e2e_validate_suites(uint32_t payload_suite, uint32_t envelope_suite, char **ret_error) {
        uint32_t want = 0;
        int r;

        r = e2e_payload_suite_for_envelope(envelope_suite, &want, ret_error);
        if (r < 0)
                return r;
        if (payload_suite != want)
                return errmsg_set(ret_error, -EPROTONOSUPPORT,
                                  "E2E payload suite %" PRIu32 " does not match key envelope suite %" PRIu32,
                                  payload_suite, envelope_suite);
        return 0;
}

/* Escapes s (at most QUOTE_MAX bytes of it) for an error text. */
static void quote_capped(const char *s, char out[4 * QUOTE_MAX + 4]) {
        size_t o = 0;

        for (size_t i = 0; s && s[i] && i < QUOTE_MAX; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        o += (size_t) snprintf(out + o, 5, "\\x%02x", c);
                else
                        out[o++] = (char) c;
        }
        if (s && strlen(s) > QUOTE_MAX) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = '\0';
}

/* ---- Time ---- */

static bool digits(const char *s, size_t n, int *ret) {
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        return m == 2 && leap ? 29 : days[m - 1];
}

int auth_parse_rfc3339(const char *s, struct timespec *ret) {
        int year, month, day, hour, min, sec, oh = 0, om = 0;
        long nsec = 0;
        size_t n, i;
        int64_t t;

        if (!s)
                return -EINVAL;
        n = strlen(s);
        /* YYYY-MM-DDTHH:MM:SS */
        if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
                return -EINVAL;
        if (!digits(s, 4, &year) || !digits(s + 5, 2, &month) || !digits(s + 8, 2, &day) ||
            !digits(s + 11, 2, &hour) || !digits(s + 14, 2, &min) || !digits(s + 17, 2, &sec))
                return -EINVAL;
        if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
            min > 59 || sec > 59)
                return -EINVAL;
        i = 19;
        /* Fractional seconds: '.' or ',' and at least one digit; Go keeps
         * nanosecond precision and ignores further digits. */
        if (s[i] == '.' || s[i] == ',') {
                size_t nd = 0;

                i++;
                while (s[i] >= '0' && s[i] <= '9') {
                        if (nd < 9) {
                                nsec = nsec * 10 + (s[i] - '0');
                                nd++;
                        }
                        i++;
                }
                if (i == 20)
                        return -EINVAL;
                for (; nd < 9; nd++)
                        nsec *= 10;
        }
        if (s[i] == 'Z') {
                i++;
        } else if (s[i] == '+' || s[i] == '-') {
                if (n - i < 6 || s[i + 3] != ':' || !digits(s + i + 1, 2, &oh) ||
                    !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
                        return -EINVAL;
                if (s[i] == '-') {
                        oh = -oh;
                        om = -om;
                }
                i += 6;
        } else
                return -EINVAL;
        if (i != n)
                return -EINVAL;

        t = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - (oh * 3600 + om * 60);
        ret->tv_sec = (time_t) t;
        ret->tv_nsec = nsec;
        return 0;
}

int auth_format_rfc3339(time_t t, char out[21]) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                return -ERANGE;
        if (strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
                return -ERANGE;
        return 0;
}

/* a < b */
static bool ts_before(const struct timespec *a, const struct timespec *b) {
        return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int auth_check_time_window(const char *issued_at, const char *expires_at, const struct timespec *now,
                           char **ret_error) {
        struct timespec issued, expires, clock, limit;
        char q[4 * QUOTE_MAX + 4];
        int64_t dsec;
        long dnsec;
        int r;

        r = auth_now(now, &clock);
        if (r < 0)
                return r;
        if (auth_parse_rfc3339(issued_at, &issued) < 0) {
                quote_capped(issued_at, q);
                return errmsg_set(
                        ret_error, -EPERM,
                        "WebTTY client proof issued_at is invalid: parsing time \"%s\" as \"" RFC3339_LAYOUT
                        "\": invalid RFC 3339 time",
                        q);
        }
        if (auth_parse_rfc3339(expires_at, &expires) < 0) {
                quote_capped(expires_at, q);
                return errmsg_set(
                        ret_error, -EPERM,
                        "WebTTY client proof expires_at is invalid: parsing time \"%s\" as \"" RFC3339_LAYOUT
                        "\": invalid RFC 3339 time",
                        q);
        }
        if (ts_before(&expires, &clock))
                return errmsg_set(ret_error, -EPERM, "WebTTY client proof has expired");
        limit = clock;
        limit.tv_sec += AUTH_CLOCK_SKEW_SEC;
        if (ts_before(&limit, &issued))
                return errmsg_set(ret_error, -EPERM, "WebTTY client proof is not valid yet");
        dsec = (int64_t) expires.tv_sec - (int64_t) issued.tv_sec;
        dnsec = expires.tv_nsec - issued.tv_nsec;
        if (dnsec < 0) {
                dsec--;
                dnsec += 1000000000L;
        }
        if (dsec > AUTH_PROOF_TTL_SEC || (dsec == AUTH_PROOF_TTL_SEC && dnsec > 0))
                return errmsg_set(ret_error, -EPERM, "WebTTY client proof lifetime exceeds %ds",
                                  AUTH_PROOF_TTL_SEC);
        return 0;
}

/* ---- Replay cache ---- */

typedef struct replay_entry {
        uint8_t key[AUTH_HASH_LEN];
        int64_t forget_after;
} replay_entry;

struct auth_replay_cache {
        replay_entry *entries; /* ring in insertion order */
        size_t capacity, head, count;
};

int auth_replay_cache_new(size_t capacity, auth_replay_cache **ret) {
        auth_replay_cache *c;

        if (capacity == 0)
                capacity = AUTH_REPLAY_CACHE_DEFAULT;
        if (capacity > SIZE_MAX / sizeof(replay_entry))
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->entries = calloc(capacity, sizeof(replay_entry));
        if (!c->entries) {
                free(c);
                return -ENOMEM;
        }
        c->capacity = capacity;
        *ret = c;
        return 0;
}

auth_replay_cache *auth_replay_cache_free(auth_replay_cache *c) {
        if (c) {
                free(c->entries);
                free(c);
        }
        return NULL;
}

size_t auth_replay_cache_count(const auth_replay_cache *c) {
        return c ? c->count : 0;
}

static replay_entry *slot(auth_replay_cache *c, size_t i) {
        return &c->entries[(c->head + i) % c->capacity];
}

/* Drops expired entries: from the oldest end while they are expired, and
 * when full, everywhere (keeping the order of the rest). */
static void purge(auth_replay_cache *c, int64_t now) {
        size_t kept = 0;

        while (c->count > 0 && slot(c, 0)->forget_after < now) {
                c->head = (c->head + 1) % c->capacity;
                c->count--;
        }
        if (c->count < c->capacity)
                return;
        for (size_t i = 0; i < c->count; i++) {
                replay_entry *e = slot(c, i);

                if (e->forget_after < now)
                        continue;
                if (kept != i)
                        *slot(c, kept) = *e;
                kept++;
        }
        c->count = kept;
}

int auth_replay_cache_add(auth_replay_cache *c, const uint8_t key[AUTH_HASH_LEN], int64_t forget_after,
                          int64_t now) {
        replay_entry *e;

        if (!c || !key)
                return -EINVAL;
        purge(c, now);
        for (size_t i = 0; i < c->count; i++)
                if (sodium_memcmp(slot(c, i)->key, key, AUTH_HASH_LEN) == 0)
                        return -EEXIST;
        if (c->count == c->capacity)
                return -ENOSPC;
        e = slot(c, c->count);
        memcpy(e->key, key, AUTH_HASH_LEN);
        e->forget_after = forget_after;
        c->count++;
        return 0;
}

/* ---- The ClientProof check ---- */

int auth_verify_signature(const uint8_t *spki, size_t spki_len, const uint8_t hash[AUTH_HASH_LEN],
                          const uint8_t *sig, size_t sig_len, const char **ret_detail) {
        _cleanup_(sigkey_freep) sigkey *k = NULL;
        int r;

        r = sigkey_from_spki(spki, spki_len, &k);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_detail = "parse WebTTY signing public key: not a P-256 SubjectPublicKeyInfo with an "
                              "uncompressed point";
                return -EPERM;
        }
        r = sigkey_verify(k, hash, sig, sig_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_detail = "invalid WebTTY proof signature";
                return -EPERM;
        }
        return 0;
}

int auth_reject(int *ret_code, int code, char **ret_error, const char *fmt, ...) {
        va_list ap;

        *ret_code = code;
        if (ret_error) {
                free(*ret_error);
                *ret_error = NULL;
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EPERM;
}

static bool bytes_eq(auth_bytes b, const uint8_t *p, size_t n) {
        return b.len == n && (n == 0 || memcmp(b.data, p, n) == 0);
}

/* The (payload, envelope) suites the transcript binds: the grant's pair
 * when there is a grant, else the pair of the server identity's suite. */
static int claim_suites(const auth_proof_claim *c, uint32_t server_envelope, uint32_t *ret_payload,
                        uint32_t *ret_envelope, char **ret_error) {
        uint32_t payload;
        int r;

        r = e2e_payload_suite_for_envelope(server_envelope, &payload, ret_error);
        if (r < 0)
                return r;
        if (c->has_grant) {
                r = e2e_validate_suites(c->grant_payload_suite, c->grant_key_envelope_suite, ret_error);
                if (r < 0)
                        return r;
                *ret_payload = c->grant_payload_suite;
                *ret_envelope = c->grant_key_envelope_suite;
                return 0;
        }
        *ret_payload = payload;
        *ret_envelope = server_envelope;
        return 0;
}

/* Steps 2 to 8: the proof is well formed, fresh and signs this session. */
static int check_signed(const auth_proof_claim *c, const auth_proof_server *s, const struct timespec *now,
                        uint8_t hash[AUTH_HASH_LEN], int *ret_code, char **ret_error) {
        _cleanup_free_ char *detail = NULL;
        uint8_t expected_id[SIGKEY_ID_LEN];
        uint32_t payload_suite = 0, envelope_suite = 0;
        const char *sig_detail = NULL;
        auth_client_transcript t;
        int r;

        if (c->signature_suite != AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": unsupported signature suite");
        r = claim_suites(c, s->key_envelope_suite, &payload_suite, &envelope_suite, &detail);
        if (r < 0)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": %s", detail ? detail : "unsupported E2E suites");
        if (c->signing_key_id.len != SIGKEY_ID_LEN)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": invalid signing key id");
        sigkey_id_from_spki(c->signing_public_key.data, c->signing_public_key.len, expected_id);
        if (sodium_memcmp(expected_id, c->signing_key_id.data, SIGKEY_ID_LEN) != 0)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": signing key id does not match signing public key");
        r = auth_check_time_window(c->issued_at, c->expires_at, now, &detail);
        if (r == -EPERM)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": %s", detail ? detail : "invalid time window");
        if (r < 0)
                return r;

        t = (auth_client_transcript){
                .protocol_version = AUTH_PROTOCOL_VERSION,
                .transport = s->transport,
                .workspace_id = s->workspace_id,
                .project_id = s->project_id,
                .server_id = s->server_id,
                .session_id = s->session_id,
                .server_signing_key_id = {s->server_signing_key_id, SIGKEY_ID_LEN},
                .server_encryption_key_id = {s->server_encryption_key_id, ENCKEY_ID_LEN},
                .server_nonce = {s->nonce, AUTH_NONCE_LEN},
                .auth_requirement = AUTH_REQUIREMENT_CLIENT_PROOF,
                .payload_suite = payload_suite,
                .key_envelope_suite = envelope_suite,
                .session_key_grant_hash = {c->grant_hash, AUTH_HASH_LEN},
                .command_config_hash = {c->config_hash, AUTH_HASH_LEN},
                .attach_grant_hash = {NULL, 0},
                .requested_role = "",
                .client_principal_id = c->principal_id ? c->principal_id : "",
                .client_signing_key_id = c->signing_key_id,
                .client_credential_hash = {c->credential_hash, AUTH_HASH_LEN},
                .issued_at = c->issued_at,
                .expires_at = c->expires_at,
        };
        r = auth_client_transcript_hash(&t, hash);
        if (r < 0)
                return r;
        if (!bytes_eq(c->transcript_hash, hash, AUTH_HASH_LEN))
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": transcript hash does not match");
        r = auth_verify_signature(c->signing_public_key.data, c->signing_public_key.len, hash,
                                  c->signature.data, c->signature.len, &sig_detail);
        if (r == -EPERM)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": signature is invalid: %s", sig_detail);
        return r;
}

int auth_proof_check(const auth_proof_claim *c, const auth_proof_server *s, auth_lookup_fn lookup,
                     void *userdata, const struct timespec *now, uint8_t transcript_out[AUTH_HASH_LEN],
                     int64_t *forget_after, int *ret_code, char **ret_error) {
        uint8_t hash[AUTH_HASH_LEN], authorized[SIGKEY_SPKI_LEN];
        struct timespec clock, expires;
        bool found = false;
        int code_dummy, r;

        if (!ret_code)
                ret_code = &code_dummy;
        *ret_code = AUTH_CODE_PLAIN_ERROR;
        if (!c || !s || !lookup || !s->server_signing_key_id || !s->server_encryption_key_id || !s->nonce ||
            !c->grant_hash || !c->config_hash || !c->credential_hash)
                return -EINVAL;
        r = auth_now(now, &clock);
        if (r < 0)
                return r;
        r = check_signed(c, s, &clock, hash, ret_code, ret_error);
        if (r < 0)
                return r;

        r = lookup(c->signing_key_id.data, authorized, &found, userdata);
        if (r < 0)
                return auth_reject(ret_code, AUTH_CODE_PLAIN_ERROR, ret_error,
                                   "WebTTY authorized client keys could not be loaded");
        if (!found)
                return auth_reject(ret_code, AUTH_CODE_CLIENT_UNAUTHORIZED, ret_error,
                                   "WebTTY client signing key is not authorized");
        if (!bytes_eq(c->signing_public_key, authorized, SIGKEY_SPKI_LEN))
                return auth_reject(ret_code, AUTH_CODE_CLIENT_PROOF_INVALID, ret_error,
                                   AUTH_PROOF_INVALID ": signing key does not match the authorized key");

        /* Parsed successfully by the time window check. */
        if (auth_parse_rfc3339(c->expires_at, &expires) < 0)
                return -EINVAL;
        if (transcript_out)
                memcpy(transcript_out, hash, AUTH_HASH_LEN);
        if (forget_after)
                *forget_after = (int64_t) expires.tv_sec + (expires.tv_nsec > 0) + AUTH_CLOCK_SKEW_SEC;
        return 0;
}
