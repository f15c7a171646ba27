/* Unit tests for lib/truststore.c (host spec §2): known_servers.json and
 * authorized_clients/<store>.json (add/replace/remove/list, sorting, exact
 * file format, every load message, permission refusals), the per-handshake
 * lookup and the static key list. */

#include <check.h>
#include <sodium.h>

#include "b64u.h"
#include "errmsg.h"
#include "files-util.h"
#include "macro.h"
#include "truststore.h"

#define A5_ENC_ID "bwQL-7ryWbO_hDcq4EGeCg"
#define A5_ENC_PUB "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw"
#define A5_SIG_ID "RDMt590iVkNdqfYMoFHoXOYtAYyHNRm9G0OpZhoD2TY"
#define A5_SPKI                                                                                             \
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A_"                \
        "4QCLi8maQa6elWKLxk8vGyDC1-"                                                                        \
        "n1F3o8KU1EYimQ"
#define A5_IDENTITY A5_ENC_ID ":" A5_ENC_PUB ":" A5_SIG_ID ":" A5_SPKI
#define A5_AUTHORIZED A5_SIG_ID ":" A5_SPKI
#define ZERO32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FX_TIME ((time_t) 1780747200) /* 2026-06-06T12:00:00Z */
#define SUITE_X TRUST_SUITE_X25519
#define SUITE_P TRUST_SUITE_P256

static char *dir;

static void setup(void) {
        ck_assert_int_ge(sodium_init(), 0);
        dir = scratch_dir();
}

static void teardown(void) {
        scratch_remove(dir);
        dir = NULL;
}

static endpoint_public parse_key(const char *text) {
        _cleanup_free_ char *err = NULL;
        endpoint_public p;

        ck_assert_msg(endpoint_public_parse(text, &p, &err) == 0, "%s", err);
        return p;
}

/* A fresh P-256 encryption key as "key_id:public_key" (malloc'd). */
static char *p256_key(void) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *s = NULL;

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_P256, &id), 0);
        ck_assert_int_eq(b64u_encode(id->pub.enc_id, ENCKEY_ID_LEN, &a), 0);
        ck_assert_int_eq(b64u_encode(id->pub.enc_pub, id->pub.enc_pub_len, &b), 0);
        ck_assert_int_ge(asprintf(&s, "%s:%s", a, b), 0);
        return s;
}

static void expect_known_error(const char *doc, const char *want) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_msg(known_servers_parse(doc, strlen(doc), "P", &ks, &err) < 0, "parsed: %s", doc);
        ck_assert_msg(err && strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err ? err : "(null)",
                      want);
}

static void expect_authorized_error(const char *doc, const char *want) {
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_msg(authorized_clients_parse(doc, strlen(doc), "P", &ac, &err) < 0, "parsed: %s", doc);
        ck_assert_msg(err && strcmp(err, want) == 0, "error \"%s\", want \"%s\"", err ? err : "(null)",
                      want);
}

static const char known_srv_only[] = "{\n"
                                     "  \"version\": 1,\n"
                                     "  \"crypto_suite\": \"webtty-e2e-x25519-hpke-aes-256-gcm-v1\",\n"
                                     "  \"known_servers\": [\n"
                                     "    {\n"
                                     "      \"name\": \"srv\",\n"
                                     "      \"key_id\": \"" A5_ENC_ID "\",\n"
                                     "      \"public_key\": \"" A5_ENC_PUB "\",\n"
                                     "      \"signing_key_id\": \"" A5_SIG_ID "\",\n"
                                     "      \"signing_public_key\": \"" A5_SPKI "\",\n"
                                     "      \"client_identity\": \"cli\",\n"
                                     "      \"created_at\": \"2026-06-06T12:00:00Z\"\n"
                                     "    }\n"
                                     "  ]\n"
                                     "}\n";

START_TEST(test_known_servers_flow) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *path = join(dir, "webtty/known_servers.json"), *sub = join(dir, "webtty"),
                            *err = NULL, *text = NULL, *p256 = p256_key();
        endpoint_public a5 = parse_key(A5_IDENTITY), enc_only = parse_key(A5_ENC_PUB), p = parse_key(p256);
        known_server e = {};

        ck_assert_int_eq(known_servers_load(path, &ks, NULL), -ENOENT);

        ck_assert_int_eq(known_servers_add(path, " srv ", &a5, "cli", FX_TIME, &e, &err), 0);
        ck_assert_str_eq(e.name, "srv");
        ck_assert_str_eq(e.client_identity, "cli");
        ck_assert_str_eq(e.created_at, "2026-06-06T12:00:00Z");
        ck_assert(e.key.has_signing);
        known_server_clear(&e);
        text = read_text(path);
        ck_assert_str_eq(text, known_srv_only);
        ck_assert_int_eq(mode_of(path), 0600);
        ck_assert_int_eq(mode_of(sub), 0700);
        ck_assert_int_eq(count_suffix(sub, ".lock"), 0);
        ck_assert_int_eq(count_suffix(sub, ".tmp"), 0);

        /* Appended, then sorted by name; encryption-only entries omit the
         * signing fields. */
        ck_assert_int_eq(known_servers_add(path, "alpha", &enc_only, NULL, FX_TIME, NULL, &err), 0);
        ck_assert_int_eq(known_servers_load(path, &ks, &err), 0);
        ck_assert_int_eq(ks->n, 2);
        ck_assert_str_eq(ks->entries[0].name, "alpha");
        ck_assert(!ks->entries[0].key.has_signing);
        ck_assert_str_eq(ks->entries[0].client_identity, "");
        ck_assert_str_eq(ks->entries[1].name, "srv");
        ks = known_servers_free(ks);
        free(text);
        text = read_text(path);
        ck_assert_ptr_nonnull(strstr(text, "      \"name\": \"alpha\",\n"
                                           "      \"key_id\": \"" A5_ENC_ID "\",\n"
                                           "      \"public_key\": \"" A5_ENC_PUB "\",\n"
                                           "      \"created_at\": \"2026-06-06T12:00:00Z\"\n"
                                           "    },\n"));

        /* Replacing keeps the old client identity when none is given. */
        ck_assert_int_eq(known_servers_add(path, "srv", &a5, "", FX_TIME + 60, &e, &err), 0);
        ck_assert_str_eq(e.client_identity, "cli");
        ck_assert_str_eq(e.created_at, "2026-06-06T12:01:00Z");
        known_server_clear(&e);
        ck_assert_int_eq(known_servers_load(path, &ks, &err), 0);
        ck_assert_int_eq(ks->n, 2);
        ks = known_servers_free(ks);

        ck_assert_int_eq(known_servers_set_identity(path, "alpha", "other", &e, &err), 0);
        ck_assert_str_eq(e.client_identity, "other");
        known_server_clear(&e);
        ck_assert_error(known_servers_set_identity(path, "zzz", "other", NULL, &err), err,
                        "known WebTTY server \"zzz\" was not found");
        ck_assert_error(known_servers_set_identity(path, "alpha", " ", NULL, &err), err,
                        "--identity is required");

        /* Mixed suites get the mixed marker, a P-256-only store its own. */
        ck_assert_int_eq(known_servers_add(path, "fips", &p, NULL, FX_TIME, NULL, &err), 0);
        free(text);
        text = read_text(path);
        ck_assert_ptr_nonnull(strstr(text, "\"crypto_suite\": \"webtty-e2e-mixed-v1\""));

        ck_assert_int_eq(known_servers_remove(path, "alpha", &err), 0);
        ck_assert_error(known_servers_remove(path, "alpha", &err), err,
                        "known WebTTY server \"alpha\" was not found");
        ck_assert_int_eq(known_servers_remove(path, "srv", &err), 0);
        free(text);
        text = read_text(path);
        ck_assert_ptr_nonnull(strstr(text, "\"crypto_suite\": \"" SUITE_P "\""));
        ck_assert_int_eq(known_servers_remove(path, "fips", &err), 0);
        free(text);
        text = read_text(path);
        /* An empty store keeps its marker. */
        ck_assert_str_eq(text, "{\n"
                               "  \"version\": 1,\n"
                               "  \"crypto_suite\": \"" SUITE_P "\",\n"
                               "  \"known_servers\": []\n"
                               "}\n");
        ck_assert_int_eq(known_servers_load(path, &ks, &err), 0);
        ck_assert_int_eq(ks->n, 0);

        ck_assert_error(known_servers_add(path, "  ", &a5, NULL, FX_TIME, NULL, &err), err,
                        "known WebTTY server name is required");
}
END_TEST

START_TEST(test_known_servers_parse_errors) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *err = NULL, *p256 = p256_key(), *doc = NULL;
        char *colon = strchr(p256, ':');
        const char *entry_x =
                "{\"name\":\"a\",\"key_id\":\"" A5_ENC_ID "\",\"public_key\":\"" A5_ENC_PUB "\"}";
        _cleanup_free_ char *entry_p = NULL;

        *colon = 0;
        ck_assert_int_ge(asprintf(&entry_p, "{\"name\":\"b\",\"key_id\":\"%s\",\"public_key\":\"%s\"}", p256,
                                  colon + 1),
                         0);

        expect_known_error("{\"version\":2,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":[]}",
                           "unsupported known WebTTY server keys version 2");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":[],\"x\":1}",
                           "decode known WebTTY server keys P: json: unknown field \"x\"");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X
                           "\",\"known_servers\":[{\"name\":\"a\",\"y\":1}]}",
                           "decode known WebTTY server keys P: json: unknown field \"y\"");
        expect_known_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":[1]}",
                "decode known WebTTY server keys P: json: cannot unmarshal number into Go struct field "
                "KnownServerKeysFile.known_servers of type webtty.KnownServerKeyEntry");
        expect_known_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":{}}",
                "decode known WebTTY server keys P: json: cannot unmarshal object into Go struct field "
                "KnownServerKeysFile.known_servers of type []webtty.KnownServerKeyEntry");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":[]} {}",
                           "decode known WebTTY server keys P: multiple JSON values");

        ck_assert_int_ge(
                asprintf(&doc, "{\"version\":1,\"crypto_suite\":\"bogus\",\"known_servers\":[%s]}", entry_x),
                0);
        expect_known_error(
                doc, "unsupported known WebTTY server keys crypto suite \"bogus\": unsupported WebTTY E2E "
                     "identity crypto suite \"bogus\"");
        free(doc);
        ck_assert_int_ge(asprintf(&doc,
                                  "{\"version\":1,\"crypto_suite\":\"" SUITE_P "\",\"known_servers\":[%s]}",
                                  entry_x),
                         0);
        expect_known_error(doc, "unsupported known WebTTY server keys crypto suite \"" SUITE_P
                                "\": known WebTTY server key suite does not match the file crypto suite");
        free(doc);
        ck_assert_int_ge(
                asprintf(&doc, "{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":[%s,%s]}",
                         entry_x, entry_p),
                0);
        expect_known_error(doc,
                           "unsupported known WebTTY server keys crypto suite \"" SUITE_X
                           "\": mixed known WebTTY server key suites require the mixed crypto suite marker");
        free(doc);
        ck_assert_int_ge(asprintf(&doc,
                                  "{\"version\":1,\"crypto_suite\":\"" TRUST_SUITE_MIXED
                                  "\",\"known_servers\":[%s,%s]}",
                                  entry_x, entry_p),
                         0);
        ck_assert_int_eq(known_servers_parse(doc, strlen(doc), "P", &ks, &err), 0);
        ck_assert_int_eq(ks->n, 2);
        ck_assert_int_eq(ks->entries[1].key.suite, ENCKEY_SUITE_P256);
        ks = known_servers_free(ks);
        /* The marker is compared after trimming, as the reference does. */
        free(doc);
        ck_assert_int_ge(
                asprintf(&doc, "{\"version\":1,\"crypto_suite\":\" " SUITE_X " \",\"known_servers\":[%s]}",
                         entry_x),
                0);
        ck_assert_int_eq(known_servers_parse(doc, strlen(doc), "P", &ks, &err), 0);
        ks = known_servers_free(ks);

        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X
                           "\",\"known_servers\":[{\"name\":\" \"}]}",
                           "unsupported known WebTTY server keys crypto suite \"" SUITE_X
                           "\": known WebTTY server name is required");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":[null]}",
                           "unsupported known WebTTY server keys crypto suite \"" SUITE_X
                           "\": known WebTTY server name is required");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X
                           "\",\"known_servers\":[{\"name\":\"a\",\"public_key\":\"" A5_ENC_PUB "\"}]}",
                           "unsupported known WebTTY server keys crypto suite \"" SUITE_X
                           "\": known WebTTY server key id is required");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X
                           "\",\"known_servers\":[{\"name\":\"a\",\"key_id\":\"AAAAAAAAAAAAAAAAAAAAAA\","
                           "\"public_key\":\"" A5_ENC_PUB "\"}]}",
                           "unsupported known WebTTY server keys crypto suite \"" SUITE_X
                           "\": known WebTTY server key id does not match public key");
        expect_known_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X
                           "\",\"known_servers\":[{\"name\":\"a\",\"key_id\":\"" A5_ENC_ID "\"}]}",
                           "unsupported known WebTTY server keys crypto suite \"" SUITE_X
                           "\": known WebTTY server public key is empty");
        expect_known_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X
                "\",\"known_servers\":[{\"name\":\"a\",\"key_id\":\"" A5_ENC_ID
                "\",\"public_key\":\"" A5_ENC_PUB "\",\"signing_key_id\":\"" A5_SIG_ID "\"}]}",
                "decode known WebTTY server identity 0: known WebTTY server signing key id and public key "
                "must be set together");
        expect_known_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"known_servers\":["
                "{\"name\":\"a\",\"key_id\":\"" A5_ENC_ID "\",\"public_key\":\"" A5_ENC_PUB "\"},"
                "{\"name\":\"b\",\"key_id\":\"" A5_ENC_ID "\",\"public_key\":\"" A5_ENC_PUB
                "\",\"signing_key_id\":\"" ZERO32 "\",\"signing_public_key\":\"" A5_SPKI "\"}]}",
                "decode known WebTTY server identity 1: known WebTTY server signing key id does not match "
                "public key");
        expect_known_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X
                "\",\"known_servers\":[{\"name\":\"a\",\"key_id\":\"" A5_ENC_ID
                "\",\"public_key\":\"" A5_ENC_PUB "\",\"signing_key_id\":\"" A5_SIG_ID
                "\",\"signing_public_key\":\"AAAA\"}]}",
                "decode known WebTTY server identity 0: known WebTTY server signing public key is invalid: "
                "parse WebTTY signing public key: not a P-256 SubjectPublicKeyInfo with an uncompressed "
                "point");
}
END_TEST

START_TEST(test_known_servers_permissions) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *path = join(dir, "known_servers.json"), *err = NULL, *want = NULL,
                            *before = NULL, *after = NULL;
        endpoint_public a5 = parse_key(A5_IDENTITY);

        write_text(path, known_srv_only, 0644);
        ck_assert_int_ge(asprintf(&want,
                                  "known WebTTY server keys file %s must not be readable by group or others",
                                  path),
                         0);
        ck_assert_error(known_servers_load(path, &ks, &err), err, want);
        ck_assert_int_eq(known_servers_load(path, &ks, NULL), -EACCES);
        before = read_text(path);
        ck_assert_error(known_servers_add(path, "x", &a5, NULL, FX_TIME, NULL, &err), err, want);
        after = read_text(path);
        ck_assert_str_eq(before, after);
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(known_servers_load(path, &ks, &err), 0);
        ck_assert_int_eq(ks->n, 1);
}
END_TEST

static const char authorized_laptop[] = "{\n"
                                        "  \"version\": 1,\n"
                                        "  \"crypto_suite\": \"webtty-e2e-x25519-hpke-aes-256-gcm-v1\",\n"
                                        "  \"authorized_clients\": [\n"
                                        "    {\n"
                                        "      \"name\": \"laptop\",\n"
                                        "      \"signing_key_id\": \"" A5_SIG_ID "\",\n"
                                        "      \"signing_public_key\": \"" A5_SPKI "\",\n"
                                        "      \"created_at\": \"2026-06-06T12:00:00Z\"\n"
                                        "    }\n"
                                        "  ]\n"
                                        "}\n";

START_TEST(test_authorized_clients_flow) {
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        _cleanup_(endpoint_identity_freep) endpoint_identity *other = NULL;
        _cleanup_free_ char *path = join(dir, "webtty/authorized_clients/srv.json"), *err = NULL,
                            *text = NULL, *name = NULL, *other_key = NULL;
        endpoint_public a5 = parse_key(A5_IDENTITY);
        uint8_t spki[SIGKEY_SPKI_LEN];
        authorized_client e = {};
        bool found = true;

        ck_assert_int_eq(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), 0);
        ck_assert(!found);

        ck_assert_int_eq(authorized_clients_add(path, "laptop", A5_IDENTITY, FX_TIME, &e, &err), 0);
        ck_assert_str_eq(e.name, "laptop");
        ck_assert(memcmp(e.id, a5.sig_id, SIGKEY_ID_LEN) == 0);
        authorized_client_clear(&e);
        text = read_text(path);
        ck_assert_str_eq(text, authorized_laptop);
        ck_assert_int_eq(mode_of(path), 0600);

        ck_assert_int_eq(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), 0);
        ck_assert(found);
        ck_assert(memcmp(spki, a5.sig_spki, SIGKEY_SPKI_LEN) == 0);

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_X25519, &other), 0);
        ck_assert_int_eq(authorized_client_key_format(other->pub.sig_id, other->pub.sig_spki, &other_key),
                         0);
        ck_assert_int_eq(authorized_clients_add(path, "desk", other_key, FX_TIME, NULL, &err), 0);
        ck_assert_int_eq(authorized_clients_load(path, &ac, &err), 0);
        ck_assert_int_eq(ac->n, 2);
        ck_assert_str_eq(ac->entries[0].name, "desk");
        ck_assert_str_eq(ac->entries[1].name, "laptop");
        ac = authorized_clients_free(ac);
        ck_assert_int_eq(authorized_clients_lookup(path, other->pub.sig_id, spki, &found, &err), 0);
        ck_assert(found);

        /* Replace by name: laptop now holds the other key. */
        ck_assert_int_eq(authorized_clients_add(path, "laptop", other_key, FX_TIME, NULL, &err), 0);
        ck_assert_int_eq(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), 0);
        ck_assert(!found);

        ck_assert_int_eq(authorized_clients_remove(path, "laptop", &err), 0);
        ck_assert_error(authorized_clients_remove(path, "laptop", &err), err,
                        "authorized WebTTY client \"laptop\" was not found");
        ck_assert_int_eq(authorized_clients_remove(path, "desk", &err), 0);
        free(text);
        text = read_text(path);
        ck_assert_str_eq(text, "{\n"
                               "  \"version\": 1,\n"
                               "  \"crypto_suite\": \"webtty-e2e-x25519-hpke-aes-256-gcm-v1\",\n"
                               "  \"authorized_clients\": []\n"
                               "}\n");
        ck_assert_int_eq(authorized_clients_lookup(path, other->pub.sig_id, spki, &found, &err), 0);
        ck_assert(!found);

        ck_assert_error(authorized_clients_add(path, " ", A5_IDENTITY, FX_TIME, NULL, &err), err,
                        "authorized WebTTY client name is required");
        ck_assert_error(authorized_clients_add(path, "x", "", FX_TIME, NULL, &err), err,
                        "authorized WebTTY client signing key is empty");

        ck_assert_int_eq(authorized_client_default_name(a5.sig_id, &name), 0);
        ck_assert_str_eq(name, "client-RDMt590iVkNd");
}
END_TEST

START_TEST(test_lookup_errors) {
        _cleanup_free_ char *path = join(dir, "ac.json"), *link = join(dir, "link.json"), *err = NULL,
                            *want = NULL;
        endpoint_public a5 = parse_key(A5_IDENTITY);
        uint8_t spki[SIGKEY_SPKI_LEN];
        bool found = true;

        write_text(path, authorized_laptop, 0640);
        ck_assert_int_ge(
                asprintf(&want,
                         "authorized WebTTY client keys file %s must not be readable by group or others",
                         path),
                0);
        ck_assert_error(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), err, want);
        ck_assert(!found);

        write_text(path, "{\"version\":1}", 0600);
        free(want);
        ck_assert_int_ge(asprintf(&want, "unsupported authorized WebTTY client keys crypto suite \"\""), 0);
        ck_assert_error(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), err, want);

        write_text(path, "{", 0600);
        free(want);
        ck_assert_int_ge(asprintf(&want, "decode authorized WebTTY client keys %s: unexpected EOF", path),
                         0);
        ck_assert_error(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), err, want);

        write_text(path, authorized_laptop, 0600);
        ck_assert_int_eq(symlink(path, link), 0);
        free(want);
        ck_assert_int_ge(asprintf(&want, "%s is a symbolic link; refusing to follow it", link), 0);
        ck_assert_error(authorized_clients_lookup(link, a5.sig_id, spki, &found, &err), err, want);

        ck_assert_int_eq(authorized_clients_lookup(path, a5.sig_id, spki, &found, &err), 0);
        ck_assert(found);
}
END_TEST

START_TEST(test_authorized_clients_parse_errors) {
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        _cleanup_free_ char *err = NULL;
        const char *ok;

        expect_authorized_error(
                "{\"version\":1,\"crypto_suite\":\"" TRUST_SUITE_MIXED "\",\"authorized_clients\":[]}",
                "unsupported authorized WebTTY client keys crypto suite \"webtty-e2e-mixed-v1\"");
        expect_authorized_error("{\"version\":1,\"crypto_suite\":\" " SUITE_X
                                "\",\"authorized_clients\":[]}",
                                "unsupported authorized WebTTY client keys crypto suite \" " SUITE_X "\"");
        expect_authorized_error("{\"version\":1,\"crypto_suite\":\"" SUITE_P "\",\"authorized_clients\":[]}",
                                "unsupported authorized WebTTY client keys crypto suite \"" SUITE_P "\"");
        expect_authorized_error("{\"crypto_suite\":\"" SUITE_X "\",\"authorized_clients\":[]}",
                                "unsupported authorized WebTTY client keys version 0");
        expect_authorized_error("{\"version\":1,\"crypto_suite\":\"" SUITE_X
                                "\",\"authorized_clients\":[],\"z\":0}",
                                "decode authorized WebTTY client keys P: json: unknown field \"z\"");
        expect_authorized_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X
                "\",\"authorized_clients\":[{\"name\":\"\",\"signing_key_id\":\"" A5_SIG_ID
                "\",\"signing_public_key\":\"" A5_SPKI "\"}]}",
                "decode authorized WebTTY client 0: authorized WebTTY client name is required");
        expect_authorized_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"authorized_clients\":["
                "{\"name\":\"a\",\"signing_key_id\":\"" A5_SIG_ID "\",\"signing_public_key\":\"" A5_SPKI
                "\"},{\"name\":\"b\",\"signing_key_id\":\"" ZERO32 "\",\"signing_public_key\":\"" A5_SPKI
                "\"}]}",
                "decode authorized WebTTY client 1: authorized WebTTY client signing key id does not "
                "match public key");
        expect_authorized_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X "\",\"authorized_clients\":[{\"name\":\"a\"}]}",
                "decode authorized WebTTY client 0: authorized WebTTY client signing public key is "
                "empty");
        expect_authorized_error(
                "{\"version\":1,\"crypto_suite\":\"" SUITE_X
                "\",\"authorized_clients\":[{\"name\":\"a\",\"created_at\":7}]}",
                "decode authorized WebTTY client keys P: json: cannot unmarshal number 7 into Go "
                "struct field AuthorizedClientKeysFile.authorized_clients.created_at of type string");

        /* As the reference: an entry without signing_key_id is accepted (the
         * id is derived), created_at is free text. */
        ok = "{\"version\":1,\"crypto_suite\":\"" SUITE_X
             "\",\"authorized_clients\":[{\"name\":\"a\",\"signing_public_key\":\"" A5_SPKI
             "\",\"created_at\":\"whenever\"}],\"authorized_clients\":null}";
        ck_assert_int_eq(authorized_clients_parse(ok, strlen(ok), "P", &ac, &err), 0);
        ck_assert_int_eq(ac->n, 0); /* the later null wins, as in Go */
        ac = authorized_clients_free(ac);
        ok = "{\"version\":1,\"crypto_suite\":\"" SUITE_X
             "\",\"authorized_clients\":[{\"name\":\"a\",\"signing_public_key\":\"" A5_SPKI
             "\",\"created_at\":\"whenever\"}]}";
        ck_assert_int_eq(authorized_clients_parse(ok, strlen(ok), "P", &ac, &err), 0);
        ck_assert_int_eq(ac->n, 1);
        ck_assert_str_eq(ac->entries[0].created_at, "whenever");
}
END_TEST

START_TEST(test_static_list) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *other = NULL;
        _cleanup_free_ char *err = NULL, *other_key = NULL, *env = NULL;
        endpoint_public a5 = parse_key(A5_IDENTITY);
        authorized_keys list = {};
        uint8_t spki[SIGKEY_SPKI_LEN];

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_X25519, &other), 0);
        ck_assert_int_eq(authorized_client_key_format(other->pub.sig_id, other->pub.sig_spki, &other_key),
                         0);

        ck_assert(!authorized_keys_find(&list, a5.sig_id, spki));
        ck_assert_int_eq(authorized_keys_add(&list, A5_IDENTITY, &err), 0);
        ck_assert_int_eq(authorized_keys_add(&list, A5_SPKI, &err), 0); /* same key: not added twice */
        ck_assert_int_eq(list.n, 1);
        ck_assert(authorized_keys_find(&list, a5.sig_id, spki));
        ck_assert(memcmp(spki, a5.sig_spki, SIGKEY_SPKI_LEN) == 0);
        ck_assert_error(authorized_keys_add(&list, "  ", &err), err,
                        "authorized WebTTY client signing key is empty");

        ck_assert_int_eq(authorized_keys_add_env(&list, NULL, &err), 0);
        ck_assert_int_eq(authorized_keys_add_env(&list, " \n ", &err), 0);
        ck_assert_int_eq(list.n, 1);
        ck_assert_int_ge(asprintf(&env, "  %s , %s\n", A5_AUTHORIZED, other_key), 0);
        ck_assert_int_eq(authorized_keys_add_env(&list, env, &err), 0);
        ck_assert_int_eq(list.n, 2);
        ck_assert(authorized_keys_find(&list, other->pub.sig_id, spki));
        free(env);
        ck_assert_int_ge(asprintf(&env, "%s,,%s", A5_AUTHORIZED, other_key), 0);
        ck_assert_error(authorized_keys_add_env(&list, env, &err), err,
                        "authorized WebTTY client signing key is empty");
        ck_assert_error(authorized_keys_add_env(&list, A5_AUTHORIZED ",", &err), err,
                        "authorized WebTTY client signing key is empty");
        ck_assert_error(authorized_keys_add_env(&list, "nope", &err), err,
                        "authorized WebTTY client signing public key is invalid: parse WebTTY signing "
                        "public key: not "
                        "a P-256 SubjectPublicKeyInfo with an uncompressed point");
        authorized_keys_clear(&list);
        ck_assert_int_eq(list.n, 0);
}
END_TEST

static Suite *truststore_suite(void) {
        Suite *s = suite_create("truststore");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_known_servers_flow);
        tcase_add_test(tc, test_known_servers_parse_errors);
        tcase_add_test(tc, test_known_servers_permissions);
        tcase_add_test(tc, test_authorized_clients_flow);
        tcase_add_test(tc, test_lookup_errors);
        tcase_add_test(tc, test_authorized_clients_parse_errors);
        tcase_add_test(tc, test_static_list);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(truststore_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
