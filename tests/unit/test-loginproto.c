/* Unit tests for lib/loginproto.c: every message type round trips, and the
 * decoder refuses every malformed encoding with a text naming the type and
 * the tag (the request decoder sees bytes from webttyd, the proof decoder
 * bytes handed to pam_rstream). */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loginproto.h"
#include "macro.h"

static uint8_t open_bytes[] = {0x0a, 0x02, 0x18, 0x01};

static void request_sample(loginproto_request *m) {
        *m = (loginproto_request){
                .transport = (char *) "websocket",
                .peer = (char *) "127.0.0.1:4000",
                .session_id = (char *) "sess-1",
                .has_nonce = true,
                .open = open_bytes,
                .open_len = sizeof(open_bytes),
        };
        memset(m->nonce, 0xab, sizeof(m->nonce));
}

START_TEST(test_request_round_trip) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *err = NULL;
        loginproto_request in, out = {};
        loginproto_type type;
        size_t len = 0;

        request_sample(&in);
        ck_assert_int_eq(loginproto_encode_request(&in, &buf, &len), 0);
        ck_assert_int_eq(loginproto_peek_type(buf, len, &type), 0);
        ck_assert_int_eq(type, LOGINPROTO_REQUEST);
        ck_assert_int_eq(loginproto_decode_request(buf, len, &out, &err), 0);
        ck_assert_str_eq(out.transport, "websocket");
        ck_assert_str_eq(out.peer, "127.0.0.1:4000");
        ck_assert_str_eq(out.session_id, "sess-1");
        ck_assert(out.has_nonce);
        ck_assert_mem_eq(out.nonce, in.nonce, LOGINPROTO_NONCE_LEN);
        ck_assert_uint_eq(out.open_len, sizeof(open_bytes));
        ck_assert_mem_eq(out.open, open_bytes, sizeof(open_bytes));
        loginproto_request_done(&out);

        /* Without a nonce (no ServerHello) and without a peer. */
        free(buf);
        buf = NULL;
        in.has_nonce = false;
        in.peer = NULL;
        ck_assert_int_eq(loginproto_encode_request(&in, &buf, &len), 0);
        ck_assert_int_eq(loginproto_decode_request(buf, len, &out, &err), 0);
        ck_assert(!out.has_nonce);
        ck_assert_str_eq(out.peer, "");
        loginproto_request_done(&out);
}
END_TEST

START_TEST(test_small_messages_round_trip) {
        _cleanup_free_ uint8_t *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL;
        _cleanup_free_ char *err = NULL;
        size_t l1 = 0, l2 = 0, l3 = 0, l4 = 0;
        loginproto_started st = {
                .pid = 4242, .tty = true, .user = (char *) "alice", .tty_name = (char *) "pts/3"};
        loginproto_started st2 = {};
        loginproto_refused rf = {.message = (char *) "login refused"}, rf2 = {};
        loginproto_signal sg = {.signo = 1}, sg2 = {};
        loginproto_exited ex = {.code = -1}, ex2 = {};

        ck_assert_int_eq(loginproto_encode_started(&st, &b1, &l1), 0);
        ck_assert_int_eq(loginproto_decode_started(b1, l1, &st2, &err), 0);
        ck_assert_int_eq(st2.pid, 4242);
        ck_assert(st2.tty);
        ck_assert_str_eq(st2.user, "alice");
        ck_assert_str_eq(st2.tty_name, "pts/3");
        loginproto_started_done(&st2);

        ck_assert_int_eq(loginproto_encode_refused(&rf, &b2, &l2), 0);
        ck_assert_int_eq(loginproto_decode_refused(b2, l2, &rf2, &err), 0);
        ck_assert_str_eq(rf2.message, "login refused");
        loginproto_refused_done(&rf2);

        ck_assert_int_eq(loginproto_encode_signal(&sg, &b3, &l3), 0);
        ck_assert_int_eq(loginproto_decode_signal(b3, l3, &sg2, &err), 0);
        ck_assert_int_eq(sg2.signo, 1);

        ck_assert_int_eq(loginproto_encode_exited(&ex, &b4, &l4), 0);
        ck_assert_int_eq(loginproto_decode_exited(b4, l4, &ex2, &err), 0);
        ck_assert_int_eq(ex2.code, -1);

        /* Encoders refuse what no decoder would accept. */
        ex.code = 256;
        ck_assert_int_eq(loginproto_encode_exited(&ex, &b4, &l4), -EINVAL);
        st.pid = 0;
        ck_assert_int_eq(loginproto_encode_started(&st, &b1, &l1), -EINVAL);
        rf.message = (char *) "";
        ck_assert_int_eq(loginproto_encode_refused(&rf, &b2, &l2), -EINVAL);
}
END_TEST

START_TEST(test_proof_round_trip) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *err = NULL;
        uint8_t kid[32], spki[91], th[32], sig[70], cred[3] = {1, 2, 3};
        loginproto_proof in = {}, out = {};
        size_t len = 0;

        memset(kid, 1, sizeof(kid));
        memset(spki, 2, sizeof(spki));
        memset(th, 3, sizeof(th));
        memset(sig, 4, sizeof(sig));
        in = (loginproto_proof){
                .transport = (char *) "plain",
                .session_id = (char *) "s",
                .has_grant = true,
                .payload_suite = 1,
                .key_envelope_suite = 1,
                .signature_suite = 1,
                .signing_key_id = kid,
                .signing_key_id_len = sizeof(kid),
                .signing_public_key = spki,
                .signing_public_key_len = sizeof(spki),
                .transcript_hash = th,
                .transcript_hash_len = sizeof(th),
                .signature = sig,
                .signature_len = sizeof(sig),
                .issued_at = (char *) "2026-11-23T10:00:00Z",
                .expires_at = (char *) "2026-11-23T10:00:30Z",
                .has_principal_id = true,
                .principal_id = (char *) "",
                .has_credential = true,
                .credential = cred,
                .credential_len = sizeof(cred),
                .has_proof = true,
                .requested_user = (char *) "deploy",
                .default_user = (char *) "kiosk",
                .server_labels = (char *) "env=prod\nrole=db",
        };
        memset(in.nonce, 5, sizeof(in.nonce));
        memset(in.grant_hash, 6, sizeof(in.grant_hash));
        memset(in.config_hash, 7, sizeof(in.config_hash));
        ck_assert_int_eq(loginproto_encode_proof(&in, &buf, &len), 0);
        ck_assert_int_eq(loginproto_decode_proof(buf, len, &out, &err), 0);
        ck_assert(out.has_proof && out.has_grant && out.has_principal_id && !out.has_device_id);
        ck_assert(out.has_credential && !out.has_browser_id);
        ck_assert_str_eq(out.principal_id, "");
        ck_assert_uint_eq(out.payload_suite, 1);
        ck_assert_uint_eq(out.key_envelope_suite, 1);
        ck_assert_mem_eq(out.nonce, in.nonce, 32);
        ck_assert_mem_eq(out.config_hash, in.config_hash, 32);
        ck_assert_uint_eq(out.signature_len, sizeof(sig));
        ck_assert_mem_eq(out.signature, sig, sizeof(sig));
        ck_assert_uint_eq(out.credential_len, 3);
        ck_assert_str_eq(out.issued_at, "2026-11-23T10:00:00Z");
        ck_assert_str_eq(out.requested_user, "deploy");
        ck_assert_str_eq(out.default_user, "kiosk");
        ck_assert_str_eq(out.server_labels, "env=prod\nrole=db");
        loginproto_proof_done(&out);

        /* An unauthenticated session: no ClientProof fields at all. */
        free(buf);
        buf = NULL;
        in.has_proof = false;
        in.has_grant = false;
        ck_assert_int_eq(loginproto_encode_proof(&in, &buf, &len), 0);
        ck_assert_int_eq(loginproto_decode_proof(buf, len, &out, &err), 0);
        ck_assert(!out.has_proof && !out.has_grant && out.signing_key_id == NULL);
        loginproto_proof_done(&out);
}
END_TEST

/* Decodes hex as a REQUEST/PROOF/EXITED/SIGNAL and expects a refusal whose
 * text contains want. */
static void refused(loginproto_type type, const uint8_t *b, size_t n, const char *want) {
        _cleanup_free_ char *err = NULL;
        loginproto_request rq = {};
        loginproto_proof pf = {};
        loginproto_exited ex = {};
        loginproto_signal sg = {};
        loginproto_started st = {};
        int r;

        switch (type) {
        case LOGINPROTO_REQUEST:
                r = loginproto_decode_request(b, n, &rq, &err);
                break;
        case LOGINPROTO_PROOF:
                r = loginproto_decode_proof(b, n, &pf, &err);
                break;
        case LOGINPROTO_EXITED:
                r = loginproto_decode_exited(b, n, &ex, &err);
                break;
        case LOGINPROTO_SIGNAL:
                r = loginproto_decode_signal(b, n, &sg, &err);
                break;
        default:
                r = loginproto_decode_started(b, n, &st, &err);
                break;
        }
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, want), "\"%s\" does not contain \"%s\"", err, want);
}

START_TEST(test_decoder_refusals) {
        static const uint8_t wrong_version[] = {2, 1, 5, 0, 0, 0, 1, 0};
        static const uint8_t wrong_type[] = {1, 3, 1, 0, 0, 0, 1, 'x'};
        static const uint8_t no_open[] = {1, 1, 1, 0, 0, 0, 1, 'x'};
        static const uint8_t unknown_tag[] = {1, 1, 9, 0, 0, 0, 0};
        static const uint8_t repeated[] = {1, 1, 1, 0, 0, 0, 1, 'x', 1, 0, 0, 0, 1, 'x'};
        static const uint8_t out_of_order[] = {1, 1, 5, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 'x'};
        static const uint8_t truncated[] = {1, 1, 5, 0, 0};
        static const uint8_t too_long[] = {1, 1, 5, 0, 0, 0, 9, 0};
        static const uint8_t nul[] = {1, 1, 1, 0, 0, 0, 2, 'a', 0, 5, 0, 0, 0, 1, 0};
        static const uint8_t no_transport[] = {1, 1, 5, 0, 0, 0, 1, 0};
        static const uint8_t short_nonce[] = {1, 1, 1, 0, 0, 0, 1, 'x', 4, 0, 0,
                                              0, 2, 0, 0, 5, 0, 0, 0,   1, 0};
        static const uint8_t bad_exit[] = {1, 5, 1, 0, 0, 0, 4, 0, 0, 1, 0};
        static const uint8_t exit_short[] = {1, 5, 1, 0, 0, 0, 2, 0, 0};
        static const uint8_t signal_zero[] = {1, 4, 1, 0, 0, 0, 4, 0, 0, 0, 0};
        static const uint8_t pid_zero[] = {1, 2, 1, 0, 0, 0, 4, 0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0};
        /* PROOF with a signing key id but no signature suite. */
        uint8_t proof_orphan[2 + 3 * 37 + 5 + 32];
        size_t o = 2;

        refused(LOGINPROTO_REQUEST, wrong_version, sizeof(wrong_version), "bad header");
        refused(LOGINPROTO_REQUEST, wrong_type, sizeof(wrong_type), "got type 3");
        refused(LOGINPROTO_REQUEST, no_open, sizeof(no_open), "Open message is missing");
        refused(LOGINPROTO_REQUEST, unknown_tag, sizeof(unknown_tag), "unknown tag 9");
        refused(LOGINPROTO_REQUEST, repeated, sizeof(repeated), "tag 1 out of order or repeated");
        refused(LOGINPROTO_REQUEST, out_of_order, sizeof(out_of_order), "tag 1 out of order");
        refused(LOGINPROTO_REQUEST, truncated, sizeof(truncated), "truncated record");
        refused(LOGINPROTO_REQUEST, too_long, sizeof(too_long), "length 9 beyond the message");
        refused(LOGINPROTO_REQUEST, nul, sizeof(nul), "NUL byte");
        refused(LOGINPROTO_REQUEST, no_transport, sizeof(no_transport), "transport is missing");
        refused(LOGINPROTO_REQUEST, short_nonce, sizeof(short_nonce), "tag 4: want 32 bytes, got 2");
        refused(LOGINPROTO_EXITED, bad_exit, sizeof(bad_exit), "exit code 256 out of range");
        refused(LOGINPROTO_EXITED, exit_short, sizeof(exit_short), "want a 32-bit number");
        refused(LOGINPROTO_SIGNAL, signal_zero, sizeof(signal_zero), "signal 0 out of range");
        refused(LOGINPROTO_STARTED, pid_zero, sizeof(pid_zero), "out of range");
        refused(LOGINPROTO_REQUEST, NULL, 0, "bad header");

        proof_orphan[0] = 1;
        proof_orphan[1] = LOGINPROTO_PROOF;
        for (uint8_t tag = 3; tag <= 6; tag++) {
                if (tag == 4)
                        continue;
                proof_orphan[o++] = tag;
                memcpy(proof_orphan + o, (uint8_t[]){0, 0, 0, 32}, 4);
                o += 4;
                memset(proof_orphan + o, 0, 32);
                o += 32;
        }
        proof_orphan[o++] = 8;
        memcpy(proof_orphan + o, (uint8_t[]){0, 0, 0, 32}, 4);
        o += 4;
        memset(proof_orphan + o, 0, 32);
        o += 32;
        refused(LOGINPROTO_PROOF, proof_orphan, o, "tag 8 without a signature suite");
}
END_TEST

START_TEST(test_size_limit) {
        _cleanup_free_ uint8_t *big = calloc(1, LOGINPROTO_MAX + 1), *buf = NULL;
        loginproto_request in;
        loginproto_type type;
        size_t len = 0;

        ck_assert_ptr_nonnull(big);
        request_sample(&in);
        in.open = big;
        in.open_len = LOGINPROTO_MAX;
        ck_assert_int_eq(loginproto_encode_request(&in, &buf, &len), -E2BIG);
        big[0] = 1;
        big[1] = 1;
        ck_assert_int_eq(loginproto_peek_type(big, LOGINPROTO_MAX + 1, &type), -EBADMSG);
}
END_TEST

static Suite *loginproto_suite(void) {
        Suite *s = suite_create("loginproto");
        TCase *tc = tcase_create("codec");

        tcase_add_test(tc, test_request_round_trip);
        tcase_add_test(tc, test_small_messages_round_trip);
        tcase_add_test(tc, test_proof_round_trip);
        tcase_add_test(tc, test_decoder_refusals);
        tcase_add_test(tc, test_size_limit);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(loginproto_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
