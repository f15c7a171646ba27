/* Unit tests for lib/identity.c (host spec §1, protocol spec §5.3): key
 * material decoding, the public text forms (with the Appendix A.5 vector),
 * fingerprints, the identity document (round trips and every validation
 * message), loading with the permission check, and load-or-create. */

#include <check.h>
#include <sodium.h>
#include <time.h>

#include "b64u.h"
#include "errmsg.h"
#include "files-util.h"
#include "identity.h"
#include "jsondoc.h"
#include "macro.h"

/* Protocol spec Appendix A.4/A.5. */
#define A5_ENC_ID "bwQL-7ryWbO_hDcq4EGeCg"
#define A5_ENC_PUB "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw"
#define A5_SIG_ID "RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0OpZhoD2TY"
#define A5_SPKI                                                                                             \
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A_"                \
        "4QCLi8maQa6elWKLxk8vGyDC1-"                                                                        \
        "n1F3o8KU1EYimQ"
#define A5_IDENTITY A5_ENC_ID ":" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI
#define A5_AUTHORIZED A5_SIG_ID ":" A5_SPKI
#define A5_ENC_ID_HEX "6f040bfbbaf259b3bf84372ae0419e0a"
#define A5_ENC_PUB_HEX "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
#define A5_SIG_ID_HEX "44332de7dd2256435da9f60ca051e85ce62d018c873519bd1b43a9661a03d936"
#define A5_SPKI_HEX                                                                                         \
        "3059301306072a8648ce3d020106082a8648ce3d0301070342000460fed4ba255a9d31c961eb74c6356d68c049b8923b6" \
        "1fa6ce66962"                                                                                       \
        "2e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
/* The A.4 X25519 private key 01..20 and the A.5 signing scalar as PKCS#8. */
#define FX_ENC_PRIV "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
#define FX_SIG_PRIV                                                                                         \
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya-"                                               \
        "p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg_tS6JVqd"                                         \
        "Mclh63TGNW1owEm4kjth-mzmaWIuYPKftnkD_hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ"
#define FX_TIME ((time_t) 1780747200) /* 2026-06-06T12:00:00Z */

static const char fixture[] = "{\n"
                              "  \"version\": 1,\n"
                              "  \"crypto_suite\": \"webtty-endpoint-x25519-ecdsa-p256-v1\",\n"
                              "  \"encryption_key_id\": \"" A5_ENC_ID "\",\n"
                              "  \"encryption_public_key\": \"" A5_ENC_PUB "\",\n"
                              "  \"encryption_private_key\": \"" FX_ENC_PRIV "\",\n"
                              "  \"signing_key_id\": \"" A5_SIG_ID "\",\n"
                              "  \"signing_public_key\": \"" A5_SPKI "\",\n"
                              "  \"signing_private_key\": \"" FX_SIG_PRIV "\",\n"
                              "  \"created_at\": \"2026-06-06T12:00:00Z\"\n"
                              "}\n";

static char *dir;

static void setup(void) {
        ck_assert_int_ge(sodium_init(), 0);
        dir = scratch_dir();
}

static void teardown(void) {
        scratch_remove(dir);
        dir = NULL;
}

static char *hex(const uint8_t *p, size_t n) {
        char *s = malloc(2 * n + 1);

        ck_assert_ptr_nonnull(s);
        sodium_bin2hex(s, 2 * n + 1, p, n);
        return s;
}

/* fixture with the first occurrence of from replaced by to (malloc'd). */
static char *fixture_with(const char *from, const char *to) {
        const char *at = strstr(fixture, from);
        char *s = NULL;

        ck_assert_ptr_nonnull(at);
        ck_assert_int_ge(asprintf(&s, "%.*s%s%s", (int) (at - fixture), fixture, to, at + strlen(from)), 0);
        return s;
}

static void expect_parse_error(const char *doc, const char *want) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        r = endpoint_identity_parse(doc, strlen(doc), &id, &err);
        ck_assert_msg(r < 0, "parsed, want \"%s\"", want);
        ck_assert_ptr_null(id);
        ck_assert_msg(err && strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err ? err : "(null)",
                      want);
}

static void expect_fixture_error(const char *from, const char *to, const char *want) {
        _cleanup_free_ char *doc = fixture_with(from, to);

        expect_parse_error(doc, want);
}

START_TEST(test_keymat) {
        _cleanup_free_ char *err = NULL;
        uint8_t *buf = NULL, three[3];
        size_t len;

        ck_assert_error(keymat_decode("", 16, "F", false, &buf, &len, &err), err, "F is empty");
        ck_assert_error(keymat_decode(" \t\n", 16, "F", false, &buf, &len, &err), err, "F is empty");
        ck_assert_error(keymat_decode(NULL, 16, "F", false, &buf, &len, &err), err, "F is empty");
        ck_assert_error(keymat_decode("AAA=", 0, "F", false, &buf, &len, &err), err,
                        "decode F: illegal base64 data at input byte 3");
        ck_assert_error(keymat_decode("AA+A", 0, "F", false, &buf, &len, &err), err,
                        "decode F: illegal base64 data at input byte 2");
        ck_assert_error(keymat_decode("AA/A", 0, "F", false, &buf, &len, &err), err,
                        "decode F: illegal base64 data at input byte 2");
        ck_assert_error(keymat_decode("AAAAA", 0, "F", false, &buf, &len, &err), err,
                        "decode F: illegal base64 data at input byte 4");
        ck_assert_error(keymat_decode("AAAA", 16, "F", false, &buf, &len, &err), err,
                        "F must decode to 16 bytes");
        ck_assert_error(keymat_decode("AB", 1, "F", false, &buf, &len, &err), err,
                        "F must be canonical base64url without padding");
        ck_assert_error(keymat_decode("AA\nAA", 3, "F", false, &buf, &len, &err), err,
                        "F must be canonical base64url without padding");
        ck_assert_int_eq(keymat_decode("AA\nAA", 3, "F", false, &buf, &len, NULL), -EINVAL);

        ck_assert_int_eq(keymat_decode(" AQID\n", 3, "F", false, &buf, &len, &err), 0);
        ck_assert_int_eq(len, 3);
        ck_assert(buf[0] == 1 && buf[1] == 2 && buf[2] == 3);
        free(buf);
        ck_assert_int_eq(keymat_decode("AQID", 0, "F", true, &buf, &len, &err), 0);
        ck_assert(len == 3 && buf[2] == 3);
        sodium_free(buf);
        ck_assert_int_eq(keymat_decode_exact("AQID", three, 3, "F", &err), 0);
        ck_assert(three[0] == 1);
        ck_assert_error(keymat_decode_exact("AQIDBA", three, 3, "F", &err), err, "F must decode to 3 bytes");
}
END_TEST

START_TEST(test_a5_vector) {
        _cleanup_free_ char *s = NULL, *h = NULL, *fp = NULL, *err = NULL;
        endpoint_public p, q;
        uint8_t id[SIGKEY_ID_LEN], spki[SIGKEY_SPKI_LEN];

        ck_assert_int_eq(endpoint_public_parse_identity(A5_IDENTITY, &p, &err), 0);
        ck_assert(p.has_signing);
        ck_assert_int_eq(p.suite, ENCKEY_SUITE_X25519);
        ck_assert_int_eq(p.enc_pub_len, 32);
        h = hex(p.enc_id, ENCKEY_ID_LEN);
        ck_assert_str_eq(h, A5_ENC_ID_HEX);
        free(h);
        h = hex(p.enc_pub, p.enc_pub_len);
        ck_assert_str_eq(h, A5_ENC_PUB_HEX);
        free(h);
        h = hex(p.sig_id, SIGKEY_ID_LEN);
        ck_assert_str_eq(h, A5_SIG_ID_HEX);
        free(h);
        h = hex(p.sig_spki, SIGKEY_SPKI_LEN);
        ck_assert_str_eq(h, A5_SPKI_HEX);

        ck_assert_int_eq(endpoint_public_format(&p, &s), 0);
        ck_assert_str_eq(s, A5_IDENTITY);
        ck_assert_int_eq(endpoint_public_parse("  " A5_IDENTITY "\n", &q, &err), 0);
        ck_assert(memcmp(&p, &q, sizeof(p)) == 0);

        /* Authorized-client syntaxes all give the A.5 signing key. */
        for (const char *const *in =
                     (const char *const[]){A5_AUTHORIZED, A5_SPKI, A5_IDENTITY,
                                           " " A5_SIG_ID " : " A5_SPKI " ", ":" A5_SPKI, NULL};
             *in; in++) {
                memset(id, 0, sizeof(id));
                ck_assert_msg(authorized_client_key_parse(*in, id, spki, &err) == 0, "%s: %s", *in, err);
                ck_assert(memcmp(id, p.sig_id, SIGKEY_ID_LEN) == 0);
                ck_assert(memcmp(spki, p.sig_spki, SIGKEY_SPKI_LEN) == 0);
        }
        free(s);
        ck_assert_int_eq(authorized_client_key_format(id, spki, &s), 0);
        ck_assert_str_eq(s, A5_AUTHORIZED);

        ck_assert_int_eq(key_fingerprint(p.sig_spki, SIGKEY_SPKI_LEN, &fp), 0);
        ck_assert_str_eq(fp, "sha256:Wnp4zKSg9CDZvGK7Zpw8J1njn3I9OuENy-DwgVoH7NQ");
        free(fp);
        ck_assert_int_eq(key_fingerprint(p.enc_pub, p.enc_pub_len, &fp), 0);
        ck_assert_str_eq(fp, "sha256:qqj_9wO1CyKX9PbhNQj3JCDZb9Aeu4TLB0RJyq72QEE");
}
END_TEST

static void expect_public_error(int (*parse)(const char *, endpoint_public *, char **), const char *in,
                                const char *want) {
        _cleanup_free_ char *err = NULL;
        endpoint_public p;

        ck_assert_msg(parse(in, &p, &err) < 0, "\"%s\" parsed", in);
        ck_assert_msg(err && strcmp(err, want) == 0, "\"%s\": error \"%s\", want \"%s\"", in,
                      err ? err : "(null)", want);
}

static void expect_authorized_error(const char *in, const char *want) {
        _cleanup_free_ char *err = NULL;
        uint8_t id[SIGKEY_ID_LEN], spki[SIGKEY_SPKI_LEN];

        ck_assert_msg(authorized_client_key_parse(in, id, spki, &err) < 0, "\"%s\" parsed", in);
        ck_assert_msg(err && strcmp(err, want) == 0, "\"%s\": error \"%s\", want \"%s\"", in,
                      err ? err : "(null)", want);
}

#define ZERO16 "AAAAAAAAAAAAAAAAAAAAAA"
#define ZERO32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SPKI_INVALID                                                                                        \
        "parse WebTTY signing public key: not a P-256 SubjectPublicKeyInfo with an uncompressed point"

START_TEST(test_text_form_errors) {
        _cleanup_free_ char *err = NULL, *s = NULL, *p256 = NULL;
        endpoint_public p;
        uint8_t pt[65] = {4};

        /* 4-part only */
        expect_public_error(endpoint_public_parse_identity, " ",
                            "known WebTTY server endpoint identity is empty");
        expect_public_error(endpoint_public_parse_identity, A5_ENC_ID ":" A5_ENC_PUB,
                            "known WebTTY server endpoint identity must be "
                            "encryption_key_id:encryption_public_key:signing_key_id:signing_public_key");
        expect_public_error(endpoint_public_parse_identity, A5_IDENTITY ":x",
                            "known WebTTY server endpoint identity must be "
                            "encryption_key_id:encryption_public_key:signing_key_id:signing_public_key");
        expect_public_error(endpoint_public_parse_identity, ZERO16 ":" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI,
                            "known WebTTY server key id does not match public key");
        expect_public_error(endpoint_public_parse_identity, "AAAA:" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI,
                            "known WebTTY server key id must decode to 16 bytes");
        expect_public_error(endpoint_public_parse_identity, ":" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI,
                            "known WebTTY server key id is empty");
        expect_public_error(endpoint_public_parse_identity, A5_ENC_ID ":" A5_ENC_PUB ":" ZERO32 ":" A5_SPKI,
                            "known WebTTY server signing key id does not match public key");
        expect_public_error(endpoint_public_parse_identity, A5_ENC_ID ":" A5_ENC_PUB ":AAAA:" A5_SPKI,
                            "known WebTTY server signing key id must decode to 32 bytes");
        expect_public_error(endpoint_public_parse_identity, A5_ENC_ID ":" A5_ENC_PUB ":" A5_SIG_ID ":AAAA",
                            "known WebTTY server signing public key is invalid: " SPKI_INVALID);
        expect_public_error(endpoint_public_parse_identity, A5_ENC_ID ":" A5_ENC_PUB ":" A5_SIG_ID ":",
                            "known WebTTY server signing public key is empty");
        expect_public_error(
                endpoint_public_parse_identity, A5_ENC_ID ":" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI "=",
                "decode known WebTTY server signing public key: illegal base64 data at input byte 122");
        expect_public_error(endpoint_public_parse_identity,
                            A5_ENC_ID ":B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHx:" A5_SIG_ID ":" A5_SPKI,
                            "known WebTTY server public key must be canonical base64url without padding");

        /* short forms */
        expect_public_error(endpoint_public_parse, "", "known WebTTY server key is empty");
        expect_public_error(endpoint_public_parse, "a:b:c",
                            "known WebTTY server key must be public_key or key_id:public_key");
        expect_public_error(endpoint_public_parse, "a:b:c:d:e",
                            "known WebTTY server key must be public_key or key_id:public_key");
        expect_public_error(endpoint_public_parse, "AAAA", "unsupported E2E public key length 3");
        expect_public_error(endpoint_public_parse, "A+AA",
                            "decode known WebTTY server public key: illegal base64 data at input byte 1");
        expect_public_error(endpoint_public_parse, ZERO16 ":" A5_ENC_PUB,
                            "known WebTTY server key id does not match public key");
        ck_assert_int_eq(b64u_encode(pt, sizeof(pt), &p256), 0);
        expect_public_error(endpoint_public_parse, p256, "invalid E2E P-256 public key");

        /* encryption-only forms */
        ck_assert_int_eq(endpoint_public_parse(A5_ENC_PUB, &p, &err), 0);
        ck_assert(!p.has_signing);
        ck_assert_int_eq(p.suite, ENCKEY_SUITE_X25519);
        s = hex(p.enc_id, ENCKEY_ID_LEN);
        ck_assert_str_eq(s, A5_ENC_ID_HEX);
        ck_assert_int_eq(endpoint_public_format(&p, &err), -EINVAL);
        ck_assert_int_eq(endpoint_public_parse(A5_ENC_ID ":" A5_ENC_PUB, &p, &err), 0);
        ck_assert(!p.has_signing);

        /* authorized-client syntaxes */
        expect_authorized_error(" ", "authorized WebTTY client signing key is empty");
        expect_authorized_error("a:b:c", "authorized WebTTY client signing key must be signing_public_key, "
                                         "signing_key_id:signing_public_key, or a WebTTY endpoint identity");
        expect_authorized_error("a:b:c:d:e",
                                "authorized WebTTY client signing key must be signing_public_key, "
                                "signing_key_id:signing_public_key, or a WebTTY endpoint identity");
        expect_authorized_error("AAAA:" A5_SPKI,
                                "authorized WebTTY client signing key id must decode to 32 bytes");
        expect_authorized_error(ZERO32 ":" A5_SPKI,
                                "authorized WebTTY client signing key id does not match public key");
        expect_authorized_error(A5_SIG_ID ":AAAA",
                                "authorized WebTTY client signing public key is invalid: " SPKI_INVALID);
        expect_authorized_error(A5_SIG_ID ":", "authorized WebTTY client signing public key is empty");
        expect_authorized_error("MFkw+",
                                "decode authorized WebTTY client signing public key: illegal base64 data at "
                                "input byte 4");
        expect_authorized_error(ZERO16 ":" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI,
                                "known WebTTY server key id does not match public key");
        /* A P-256 encryption key is no signing key. */
        expect_authorized_error(p256,
                                "authorized WebTTY client signing public key is invalid: " SPKI_INVALID);
}
END_TEST

START_TEST(test_fixture_roundtrip) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_free_ char *err = NULL, *s = NULL;
        char *text = NULL;
        size_t len;

        ck_assert_int_eq(endpoint_identity_parse(fixture, strlen(fixture), &id, &err), 0);
        ck_assert_int_eq(id->enc->suite, ENCKEY_SUITE_X25519);
        ck_assert_int_eq(endpoint_public_format(&id->pub, &s), 0);
        ck_assert_str_eq(s, A5_IDENTITY);
        ck_assert_int_eq(endpoint_identity_format(id, FX_TIME, &text, &len), 0);
        ck_assert_int_eq(len, strlen(fixture));
        ck_assert_str_eq(text, fixture);
        sodium_free(text);
}
END_TEST

static void roundtrip(enckey_suite suite) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *a = NULL, *b = NULL;
        _cleanup_free_ char *err = NULL;
        char *t1 = NULL, *t2 = NULL;
        size_t l1, l2;
        uint8_t *p1 = NULL, *p2 = NULL;
        size_t n1, n2;

        ck_assert_int_eq(endpoint_identity_generate(suite, &a), 0);
        ck_assert_int_eq(a->enc->suite, suite);
        ck_assert_int_eq(a->pub.enc_pub_len, suite == ENCKEY_SUITE_X25519 ? 32 : 65);
        ck_assert_int_eq(endpoint_identity_format(a, FX_TIME, &t1, &l1), 0);
        ck_assert_ptr_nonnull(
                strstr(t1, suite == ENCKEY_SUITE_X25519 ? IDENTITY_SUITE_X25519 : IDENTITY_SUITE_P256));
        ck_assert_int_eq(endpoint_identity_parse(t1, l1, &b, &err), 0);
        ck_assert(memcmp(&a->pub, &b->pub, sizeof(a->pub)) == 0);
        ck_assert(memcmp(a->enc->priv, b->enc->priv, ENCKEY_PRIV_LEN) == 0);
        ck_assert_int_eq(sigkey_pkcs8(a->sig, &p1, &n1), 0);
        ck_assert_int_eq(sigkey_pkcs8(b->sig, &p2, &n2), 0);
        ck_assert(n1 == n2 && memcmp(p1, p2, n1) == 0);
        ck_assert_int_eq(endpoint_identity_format(b, FX_TIME, &t2, &l2), 0);
        ck_assert(l1 == l2 && memcmp(t1, t2, l1) == 0);
        ck_assert_int_eq(t1[l1 - 1], '\n');
        ck_assert_int_ne(t1[l1 - 2], '\n');
        sodium_free(p1);
        sodium_free(p2);
        sodium_free(t1);
        sodium_free(t2);
}

START_TEST(test_generate_roundtrip) {
        roundtrip(ENCKEY_SUITE_X25519);
        roundtrip(ENCKEY_SUITE_P256);
}
END_TEST

START_TEST(test_validation_messages) {
        _cleanup_free_ char *doc = NULL;

        expect_fixture_error("\"version\": 1", "\"version\": 2",
                             "unsupported WebTTY endpoint identity version 2");
        expect_fixture_error("\"version\": 1", "\"version\": null",
                             "unsupported WebTTY endpoint identity version 0");
        expect_fixture_error("\"version\": 1,\n", "", "unsupported WebTTY endpoint identity version 0");
        expect_fixture_error(
                "\"version\": 1", "\"version\": \"1\"",
                "decode WebTTY endpoint identity: json: cannot unmarshal string into Go struct field "
                "WebTTYEndpointIdentityFile.version of type int");
        expect_fixture_error(
                "\"version\": 1", "\"version\": 1.5",
                "decode WebTTY endpoint identity: json: cannot unmarshal number 1.5 into Go struct field "
                "WebTTYEndpointIdentityFile.version of type int");
        expect_fixture_error("webtty-endpoint-x25519-ecdsa-p256-v1", "webtty-e2e-x25519-hpke-aes-256-gcm-v1",
                             "unsupported WebTTY endpoint identity crypto suite "
                             "\"webtty-e2e-x25519-hpke-aes-256-gcm-v1\"");
        expect_fixture_error("\"crypto_suite\"", "\"extra\": true, \"crypto_suite\"",
                             "decode WebTTY endpoint identity: json: unknown field \"extra\"");
        expect_fixture_error("\"crypto_suite\"", "\"Crypto_Suite\": \"x\", \"crypto_suite\"",
                             "decode WebTTY endpoint identity: json: unknown field \"Crypto_Suite\"");
        expect_fixture_error(
                "\"created_at\": \"2026-06-06T12:00:00Z\"", "\"created_at\": \"yesterday\"",
                "decode WebTTY endpoint identity: parsing time \"yesterday\" as RFC 3339: invalid");
        expect_fixture_error(
                "\"created_at\": \"2026-06-06T12:00:00Z\"", "\"created_at\": 5",
                "decode WebTTY endpoint identity: json: cannot unmarshal number 5 into Go struct field "
                "WebTTYEndpointIdentityFile.created_at of type time.Time");

        doc = fixture_with("}\n", "}\n{}\n");
        expect_parse_error(doc, "decode WebTTY endpoint identity: multiple JSON values");
        free(doc);
        doc = fixture_with("}\n", "} 1");
        expect_parse_error(doc, "decode WebTTY endpoint identity: multiple JSON values");
        free(doc);
        doc = fixture_with("}\n", "}x");
        expect_parse_error(
                doc, "decode WebTTY endpoint identity: json: invalid character 'x' after top-level value");
        free(doc);
        doc = fixture_with("}\n", "");
        expect_parse_error(doc, "decode WebTTY endpoint identity: unexpected EOF");
        expect_parse_error("", "decode WebTTY endpoint identity: unexpected EOF");
        expect_parse_error(
                "[]", "decode WebTTY endpoint identity: json: cannot unmarshal array into Go value of type "
                      "webtty.WebTTYEndpointIdentityFile");
        expect_parse_error("{\"version\":\x01}",
                           "decode WebTTY endpoint identity: json: invalid character 0x01 at "
                           "offset 11");
        expect_parse_error("null", "unsupported WebTTY endpoint identity version 0");

        expect_fixture_error(FX_ENC_PRIV, "", "WebTTY endpoint encryption private key is empty");
        expect_fixture_error(FX_ENC_PRIV, "AQID",
                             "WebTTY endpoint encryption private key must decode to 32 bytes");
        expect_fixture_error(
                FX_ENC_PRIV, FX_ENC_PRIV "=",
                "decode WebTTY endpoint encryption private key: illegal base64 data at input byte 43");
        expect_fixture_error(
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyB",
                "WebTTY endpoint encryption private key must be canonical base64url without padding");
        expect_fixture_error(A5_ENC_ID, ZERO16,
                             "WebTTY endpoint encryption key id does not match private key");
        expect_fixture_error(
                A5_ENC_ID, "bwQL-7ryWbO_hDcq4EGeCh",
                "WebTTY endpoint encryption key id must be canonical base64url without padding");
        expect_fixture_error(A5_ENC_ID, A5_ENC_ID "AA",
                             "WebTTY endpoint encryption key id must decode to 16 bytes");
        expect_fixture_error(A5_ENC_PUB, ZERO32,
                             "WebTTY endpoint encryption public key does not match private key");
        expect_fixture_error(A5_ENC_PUB, "AAAA",
                             "WebTTY endpoint encryption public key must decode to 32 bytes");
        expect_fixture_error("\"signing_key_id\": \"" A5_SIG_ID, "\"signing_key_id\": \"" ZERO32,
                             "WebTTY endpoint signing key id does not match private key");
        expect_fixture_error(FX_SIG_PRIV, "AAAA",
                             "parse WebTTY signing private key: not a P-256 PKCS#8 private key");
        expect_fixture_error(FX_SIG_PRIV, "", "WebTTY endpoint signing private key is empty");
}
END_TEST

START_TEST(test_signing_public_mismatch) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *other = NULL;
        _cleanup_free_ char *other_spki = NULL, *to = NULL;

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_X25519, &other), 0);
        ck_assert_int_eq(b64u_encode(other->pub.sig_spki, SIGKEY_SPKI_LEN, &other_spki), 0);
        ck_assert_int_ge(asprintf(&to, "\"signing_public_key\": \"%s", other_spki), 0);
        expect_fixture_error("\"signing_public_key\": \"" A5_SPKI, to,
                             "WebTTY endpoint signing public key does not match private key");
}
END_TEST

START_TEST(test_p256_fixture_errors) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL, *back = NULL;
        _cleanup_free_ char *err = NULL, *bad = NULL;
        char *text = NULL, *at;
        size_t len;

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_P256, &id), 0);
        ck_assert_int_eq(endpoint_identity_format(id, FX_TIME, &text, &len), 0);
        /* A P-256 encryption public key must be 65 bytes. */
        at = strstr(text, "\"encryption_public_key\": \"");
        ck_assert_ptr_nonnull(at);
        at += strlen("\"encryption_public_key\": \"");
        ck_assert_int_ge(asprintf(&bad, "%.*s%s%s", (int) (at - text), text, A5_ENC_PUB, at + 87), 0);
        sodium_free(text);
        expect_parse_error(bad, "WebTTY endpoint encryption public key must decode to 65 bytes");
}
END_TEST

START_TEST(test_load_and_permissions) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_free_ char *path = join(dir, "x.identity.json"), *err = NULL, *want = NULL, *bad = NULL,
                            *missing = join(dir, "missing.json");

        write_text(path, fixture, 0600);
        ck_assert_int_eq(endpoint_identity_load(path, &id, &err), 0);
        ck_assert_int_eq(id->pub.enc_pub_len, 32);
        id = endpoint_identity_free(id);

        ck_assert_int_eq(chmod(path, 0640), 0);
        ck_assert_int_ge(
                asprintf(&want, "E2E identity file %s must not be readable by group or others", path), 0);
        ck_assert_error(endpoint_identity_load(path, &id, &err), err, want);
        ck_assert_int_eq(endpoint_identity_load(path, &id, NULL), -EACCES);
        ck_assert_int_eq(chmod(path, 0644), 0);
        ck_assert_error(endpoint_identity_load(path, &id, &err), err, want);

        bad = fixture_with("\"version\": 1", "\"version\": 2");
        write_text(path, bad, 0600);
        free(want);
        ck_assert_int_ge(
                asprintf(&want,
                         "load WebTTY endpoint identity %s: unsupported WebTTY endpoint identity version 2",
                         path),
                0);
        ck_assert_error(endpoint_identity_load(path, &id, &err), err, want);

        free(want);
        ck_assert_int_ge(asprintf(&want, "open %s: No such file or directory", missing), 0);
        ck_assert_error(endpoint_identity_load(missing, &id, &err), err, want);
        ck_assert_int_eq(endpoint_identity_load(missing, &id, NULL), -ENOENT);
}
END_TEST

static void expect_public_doc_error(const char *from, const char *to, const char *want) {
        _cleanup_free_ char *doc = fixture_with(from, to), *err = NULL;
        endpoint_public p;

        ck_assert_int_lt(endpoint_public_parse_identity_document(doc, strlen(doc), &p, &err), 0);
        ck_assert_msg(err && strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err ? err : "(null)",
                      want);
}

/* Field by field: the struct's padding is not part of the value. */
static void expect_same_public(const endpoint_public *a, const endpoint_public *b) {
        _cleanup_free_ char *ta = NULL, *tb = NULL;

        ck_assert_int_eq(a->suite, b->suite);
        ck_assert_int_eq(a->enc_pub_len, b->enc_pub_len);
        ck_assert_int_eq(endpoint_public_format(a, &ta), 0);
        ck_assert_int_eq(endpoint_public_format(b, &tb), 0);
        ck_assert_str_eq(ta, tb);
}

/* The public half gives what the full loader derives from the private keys,
 * checks the ids against the public keys, and never looks at the private
 * fields. */
START_TEST(test_public_half) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *full = NULL, *p256 = NULL;
        _cleanup_free_ char *err = NULL, *s = NULL, *path = join(dir, "pub.identity.json"), *want = NULL,
                            *bad_priv = fixture_with(FX_ENC_PRIV, "AAAA");
        char *text = NULL;
        endpoint_public pub, pub2;
        size_t len;

        ck_assert_int_eq(endpoint_public_parse_identity_document(fixture, strlen(fixture), &pub, &err), 0);
        ck_assert_int_eq(endpoint_public_format(&pub, &s), 0);
        ck_assert_str_eq(s, A5_IDENTITY);
        ck_assert_int_eq(endpoint_identity_parse(fixture, strlen(fixture), &full, &err), 0);
        expect_same_public(&pub, &full->pub);

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_P256, &p256), 0);
        ck_assert_int_eq(endpoint_identity_format(p256, FX_TIME, &text, &len), 0);
        ck_assert_int_eq(endpoint_public_parse_identity_document(text, len, &pub2, &err), 0);
        sodium_free(text);
        ck_assert_int_eq(pub2.suite, ENCKEY_SUITE_P256);
        expect_same_public(&pub2, &p256->pub);

        /* A private key that does not decode is the full loader's business only. */
        ck_assert_int_eq(endpoint_public_parse_identity_document(bad_priv, strlen(bad_priv), &pub2, &err),
                         0);

        expect_public_doc_error("\"encryption_key_id\": \"" A5_ENC_ID,
                                "\"encryption_key_id\": \"AAAAAAAAAAAAAAAAAAAAAA",
                                "WebTTY endpoint encryption key id does not match public key");
        expect_public_doc_error("\"signing_key_id\": \"" A5_SIG_ID,
                                "\"signing_key_id\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                "WebTTY endpoint signing key id does not match public key");
        expect_public_doc_error("\"version\": 1", "\"version\": 3",
                                "unsupported WebTTY endpoint identity version 3");
        expect_public_doc_error("\"version\": 1", "\"versio\": 1",
                                "decode WebTTY endpoint identity: json: unknown field \"versio\"");

        /* Loading: the secret-file checks and the load prefix as the full loader. */
        write_text(path, fixture, 0600);
        ck_assert_int_eq(endpoint_public_load_identity(path, &pub2, &err), 0);
        expect_same_public(&pub, &pub2);
        ck_assert_int_eq(chmod(path, 0640), 0);
        ck_assert_int_ge(
                asprintf(&want, "E2E identity file %s must not be readable by group or others", path), 0);
        ck_assert_error(endpoint_public_load_identity(path, &pub2, &err), err, want);
        free(want);
        write_text(path, bad_priv, 0600);
        ck_assert_int_eq(endpoint_public_load_identity(path, &pub2, &err), 0);
        free(s);
        s = fixture_with("\"version\": 1", "\"version\": 2");
        write_text(path, s, 0600);
        ck_assert_int_ge(
                asprintf(&want,
                         "load WebTTY endpoint identity %s: unsupported WebTTY endpoint identity version 2",
                         path),
                0);
        ck_assert_error(endpoint_public_load_identity(path, &pub2, &err), err, want);
}
END_TEST

START_TEST(test_load_or_create) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *a = NULL, *b = NULL, *c = NULL;
        _cleanup_free_ char *path = join(dir, "ids/srv.identity.json"), *ids = join(dir, "ids"),
                            *p256 = join(dir, "ids/fips.identity.json"), *err = NULL, *want = NULL,
                            *before = NULL, *after = NULL;
        bool created = false;

        ck_assert_int_eq(endpoint_identity_load_or_create(path, 0, &a, &created, &err), 0);
        ck_assert(created);
        ck_assert_int_eq(a->enc->suite, ENCKEY_SUITE_X25519);
        ck_assert_int_eq(mode_of(path), 0600);
        ck_assert_int_eq(mode_of(ids), 0700);
        ck_assert_int_eq(count_suffix(ids, ".lock"), 0);
        ck_assert_int_eq(count_suffix(ids, ".tmp"), 0);

        ck_assert_int_eq(endpoint_identity_load_or_create(path, ENCKEY_SUITE_X25519, &b, &created, &err), 0);
        ck_assert(!created);
        ck_assert(memcmp(&a->pub, &b->pub, sizeof(a->pub)) == 0);
        b = endpoint_identity_free(b);

        /* Loading an existing identity needs no write access: no lock is
         * taken, so a directory the writer would refuse is fine. */
        ck_assert_int_eq(chmod(ids, 0770), 0);
        ck_assert_int_eq(endpoint_identity_load_or_create(path, 0, &b, &created, &err), 0);
        ck_assert(!created);
        ck_assert_int_eq(count_suffix(ids, ".lock"), 0);
        ck_assert_int_eq(chmod(ids, 0700), 0);

        ck_assert_int_ge(
                asprintf(&want, "WebTTY endpoint identity %s uses key envelope suite 1, requested 3", path),
                0);
        ck_assert_error(endpoint_identity_load_or_create(path, ENCKEY_SUITE_P256, &c, NULL, &err), err,
                        want);

        ck_assert_int_eq(endpoint_identity_load_or_create(p256, ENCKEY_SUITE_P256, &c, &created, &err), 0);
        ck_assert(created);
        ck_assert_int_eq(c->pub.enc_pub_len, 65);
        c = endpoint_identity_free(c);
        ck_assert_int_eq(endpoint_identity_load_or_create(p256, 0, &c, &created, &err), 0);
        ck_assert(!created);
        ck_assert_int_eq(c->enc->suite, ENCKEY_SUITE_P256);
        c = endpoint_identity_free(c);

        /* An invalid existing file is an error and is never overwritten. */
        write_text(path, "{\"version\": 7}\n", 0600);
        before = read_text(path);
        free(want);
        ck_assert_int_ge(
                asprintf(&want,
                         "load WebTTY endpoint identity %s: unsupported WebTTY endpoint identity version 7",
                         path),
                0);
        ck_assert_error(endpoint_identity_load_or_create(path, 0, &c, NULL, &err), err, want);
        after = read_text(path);
        ck_assert_str_eq(before, after);
        /* So is an insecure one. */
        ck_assert_int_eq(chmod(path, 0660), 0);
        free(want);
        ck_assert_int_ge(
                asprintf(&want, "E2E identity file %s must not be readable by group or others", path), 0);
        ck_assert_error(endpoint_identity_load_or_create(path, 0, &c, NULL, &err), err, want);
}
END_TEST

START_TEST(test_inline) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(endpoint_identity_parse_inline(fixture, &id, &err), 0);
        id = endpoint_identity_free(id);
        ck_assert_error(endpoint_identity_parse_inline("{}", &id, &err), err,
                        "RSTREAM_WEBTTY_IDENTITY must contain a WebTTY endpoint identity JSON document: "
                        "unsupported WebTTY endpoint identity version 0");
        ck_assert_error(endpoint_identity_parse_inline("nope", &id, &err), err,
                        "RSTREAM_WEBTTY_IDENTITY must contain a WebTTY endpoint identity JSON document: "
                        "decode WebTTY endpoint identity: json: null expected at offset 1");
}
END_TEST

START_TEST(test_jsondoc) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(),
                                                *inner = json_object_new_object();
        _cleanup_free_ char *text = NULL, *q = NULL;
        size_t len;

        ck_assert_int_eq(json_object_object_add(o, "path", json_object_new_string("/a/b")), 0);
        ck_assert_int_eq(json_object_object_add(o, "empty", json_object_new_array()), 0);
        ck_assert_int_eq(json_object_object_add(o, "none", NULL), 0);
        ck_assert_int_eq(json_object_object_add(inner, "n", json_object_new_int(3)), 0);
        ck_assert_int_eq(json_object_object_add(o, "inner", json_object_get(inner)), 0);
        ck_assert_int_eq(jsondoc_format(o, false, &text, &len), 0);
        ck_assert_str_eq(text, "{\n"
                               "  \"path\": \"/a/b\",\n"
                               "  \"empty\": [],\n"
                               "  \"none\": null,\n"
                               "  \"inner\": {\n"
                               "    \"n\": 3\n"
                               "  }\n"
                               "}\n");
        ck_assert_int_eq(len, strlen(text));
        q = jsondoc_quote("a\"b\\c\n\x01");
        ck_assert_str_eq(q, "\"a\\\"b\\\\c\\n\\x01\"");
        ck_assert(jsondoc_rfc3339_valid("2026-06-06T12:00:00Z"));
        ck_assert(jsondoc_rfc3339_valid("2024-02-29T23:59:59.123+05:30"));
        ck_assert(!jsondoc_rfc3339_valid("2023-02-29T00:00:00Z"));
        ck_assert(!jsondoc_rfc3339_valid("2026-06-06 12:00:00Z"));
        ck_assert(!jsondoc_rfc3339_valid("2026-06-06T24:00:00Z"));
        ck_assert(!jsondoc_rfc3339_valid("2026-06-06T12:00:00"));
        ck_assert(!jsondoc_rfc3339_valid("2026-06-06T12:00:00.Z"));
}
END_TEST

static Suite *identity_suite(void) {
        Suite *s = suite_create("identity");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_keymat);
        tcase_add_test(tc, test_a5_vector);
        tcase_add_test(tc, test_text_form_errors);
        tcase_add_test(tc, test_fixture_roundtrip);
        tcase_add_test(tc, test_generate_roundtrip);
        tcase_add_test(tc, test_validation_messages);
        tcase_add_test(tc, test_signing_public_mismatch);
        tcase_add_test(tc, test_p256_fixture_errors);
        tcase_add_test(tc, test_load_and_permissions);
        tcase_add_test(tc, test_public_half);
        tcase_add_test(tc, test_load_or_create);
        tcase_add_test(tc, test_inline);
        tcase_add_test(tc, test_jsondoc);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(identity_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
