/* Unit tests for the pure parts of webttyd-login (webttyd/login/): the
 * REQUEST -> PROOF bundle derivation, the bundle text, server labels, the
 * shell's argv, the PAM conversation and the PAM environment merge. The
 * privileged parts are tested in tests/integration/test_login_helper.py. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "b64u.h"
#include "login.h"
#include "macro.h"

/* ---- fixtures ------------------------------------------------------------ */

typedef struct test_open {
        Webtty__Open open;
        Webtty__Config config;
        Webtty__Options options;
        Webtty__Username username;
        Webtty__ClientProof proof;
        Webtty__StringValue principal;
        Webtty__BytesValue credential;
        Webtty__SessionKeyGrant grant;
        char *args[4];
} test_open;

static void open_init(test_open *t) {
        memset(t, 0, sizeof *t);
        t->open = (Webtty__Open) WEBTTY__OPEN__INIT;
        t->config = (Webtty__Config) WEBTTY__CONFIG__INIT;
        t->options = (Webtty__Options) WEBTTY__OPTIONS__INIT;
        t->username = (Webtty__Username) WEBTTY__USERNAME__INIT;
        t->proof = (Webtty__ClientProof) WEBTTY__CLIENT_PROOF__INIT;
        t->principal = (Webtty__StringValue) WEBTTY__STRING_VALUE__INIT;
        t->credential = (Webtty__BytesValue) WEBTTY__BYTES_VALUE__INIT;
        t->grant = (Webtty__SessionKeyGrant) WEBTTY__SESSION_KEY_GRANT__INIT;
        t->options.allocate_tty = 1;
        t->config.options = &t->options;
        t->args[0] = "id";
        t->args[1] = "-un";
        t->config.cmd_args = t->args;
        t->config.n_cmd_args = 2;
        t->open.config = &t->config;
}

static void open_add_proof(test_open *t) {
        static uint8_t key_id[32], spki[91], hash[32], sig[70], cred[5] = "cred!";

        memset(key_id, 0xab, sizeof key_id);
        memset(spki, 0x30, sizeof spki);
        memset(hash, 0x11, sizeof hash);
        memset(sig, 0x22, sizeof sig);
        t->proof.signature_suite = 1;
        t->proof.signing_key_id = (ProtobufCBinaryData){sizeof key_id, key_id};
        t->proof.signing_public_key = (ProtobufCBinaryData){sizeof spki, spki};
        t->proof.transcript_hash = (ProtobufCBinaryData){sizeof hash, hash};
        t->proof.signature = (ProtobufCBinaryData){sizeof sig, sig};
        t->proof.issued_at = "2026-06-20T10:00:00Z";
        t->proof.expires_at = "2026-06-20T10:00:30Z";
        t->principal.value = "principal-1";
        t->proof.principal_id = &t->principal;
        t->credential.value = (ProtobufCBinaryData){sizeof cred, cred};
        t->proof.credential = &t->credential;
        t->open.client_proof = &t->proof;
        t->grant.payload_suite = 1;
        t->grant.key_envelope_suite = 3;
        t->open.session_key_grant = &t->grant;
}

/* A request carrying t's Open, packed into *buf (free it). */
static loginproto_request request_for(test_open *t, uint8_t **buf, bool nonce) {
        loginproto_request r = {.transport = "websocket", .peer = "192.0.2.1", .session_id = "sess-1"};
        size_t n = webtty__open__get_packed_size(&t->open);

        *buf = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(*buf);
        webtty__open__pack(&t->open, *buf);
        r.open = *buf;
        r.open_len = n;
        r.has_nonce = nonce;
        memset(r.nonce, 0x5a, sizeof r.nonce);
        return r;
}

static const login_config cfg_default = {.login_user = "alice", .server_labels = "env=prod\nzone=a"};

/* ---- derivation ---------------------------------------------------------- */

START_TEST(test_derive_unauthenticated) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *why = NULL, *peer = NULL;
        login_derived d;
        uint8_t want[AUTH_HASH_LEN];
        test_open t;
        loginproto_request req;

        open_init(&t);
        req = request_for(&t, &buf, false);
        ck_assert_int_eq(login_request_derive(&req, &cfg_default, &d, &why, &peer), 0);
        ck_assert_ptr_null(why);
        ck_assert_str_eq(d.proof.transport, "websocket");
        ck_assert_str_eq(d.proof.session_id, "sess-1");
        ck_assert(!d.proof.has_proof);
        ck_assert(!d.proof.has_grant);
        auth_sha256("", 0, want);
        ck_assert_mem_eq(d.proof.grant_hash, want, sizeof want);
        ck_assert_int_eq(auth_hash_config(&t.config, want), 0);
        ck_assert_mem_eq(d.proof.config_hash, want, sizeof want);
        ck_assert_str_eq(d.proof.requested_user, "");
        ck_assert_str_eq(d.proof.default_user, "alice");
        ck_assert_str_eq(d.proof.server_labels, "env=prod\nzone=a");
        ck_assert_str_eq(d.key_id, "-");
        ck_assert_ptr_nonnull(d.open);
        ck_assert_int_eq(d.open->config->options->allocate_tty, 1);
        login_derived_done(&d);
}
END_TEST

START_TEST(test_derive_proof_and_grant) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *why = NULL, *peer = NULL;
        login_derived d;
        uint8_t want[AUTH_HASH_LEN];
        test_open t;
        loginproto_request req;

        open_init(&t);
        open_add_proof(&t);
        req = request_for(&t, &buf, true);
        ck_assert_int_eq(login_request_derive(&req, &cfg_default, &d, &why, &peer), 0);
        ck_assert(d.proof.has_proof);
        ck_assert(d.proof.has_grant);
        ck_assert_uint_eq(d.proof.payload_suite, 1);
        ck_assert_uint_eq(d.proof.key_envelope_suite, 3);
        ck_assert_int_eq(auth_hash_grant(&t.grant, want), 0);
        ck_assert_mem_eq(d.proof.grant_hash, want, sizeof want);
        ck_assert_mem_eq(d.proof.nonce, req.nonce, LOGINPROTO_NONCE_LEN);
        ck_assert_uint_eq(d.proof.signature_suite, 1);
        ck_assert_uint_eq(d.proof.signing_key_id_len, 32);
        ck_assert_mem_eq(d.proof.signing_key_id, t.proof.signing_key_id.data, 32);
        ck_assert_uint_eq(d.proof.signing_public_key_len, 91);
        ck_assert_uint_eq(d.proof.signature_len, 70);
        ck_assert_str_eq(d.proof.issued_at, "2026-06-20T10:00:00Z");
        ck_assert_str_eq(d.proof.expires_at, "2026-06-20T10:00:30Z");
        ck_assert(d.proof.has_principal_id);
        ck_assert_str_eq(d.proof.principal_id, "principal-1");
        ck_assert(!d.proof.has_device_id);
        ck_assert(d.proof.has_credential);
        ck_assert_uint_eq(d.proof.credential_len, 5);
        /* base64url of 0xab... */
        ck_assert_str_eq(d.key_id, "q6urq6urq6ur");
        login_derived_done(&d);
}
END_TEST

/* The bundle text is what pam_rstream decodes: a round trip. */
START_TEST(test_bundle_text_round_trip) {
        _cleanup_free_ uint8_t *buf = NULL, *bin = NULL;
        _cleanup_free_ char *why = NULL, *peer = NULL, *text = NULL, *err = NULL;
        loginproto_proof back = {};
        login_derived d;
        test_open t;
        loginproto_request req;
        size_t len;

        open_init(&t);
        open_add_proof(&t);
        req = request_for(&t, &buf, true);
        ck_assert_int_eq(login_request_derive(&req, &cfg_default, &d, &why, &peer), 0);
        ck_assert_int_eq(login_bundle_text(&d.proof, &text), 0);
        ck_assert_int_eq(b64u_decode(text, &bin, &len), 0);
        ck_assert_int_eq(loginproto_decode_proof(bin, len, &back, &err), 0);
        ck_assert_str_eq(back.session_id, "sess-1");
        ck_assert_mem_eq(back.config_hash, d.proof.config_hash, LOGINPROTO_HASH_LEN);
        ck_assert_mem_eq(back.signature, d.proof.signature, d.proof.signature_len);
        ck_assert_str_eq(back.default_user, "alice");
        ck_assert_str_eq(back.server_labels, "env=prod\nzone=a");
        loginproto_proof_done(&back);
        login_derived_done(&d);
}
END_TEST

static void expect_refusal(test_open *t, bool nonce, const login_config *cfg, int want_r,
                           const char *want_peer, const char *want_log_part) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *why = NULL, *peer = NULL;
        login_derived d;
        loginproto_request req = request_for(t, &buf, nonce);

        ck_assert_int_eq(login_request_derive(&req, cfg, &d, &why, &peer), want_r);
        ck_assert_ptr_null(d.open);
        ck_assert_ptr_nonnull(peer);
        ck_assert_str_eq(peer, want_peer);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, want_log_part), "log text %s", why);
}

START_TEST(test_derive_client_user_disabled) {
        test_open t;

        open_init(&t);
        t.username.payload_case = WEBTTY__USERNAME__PAYLOAD_NAME;
        t.username.name = "bob";
        t.config.username = &t.username;
        expect_refusal(&t, false, &cfg_default, -EPERM,
                       "client-selected OS users are disabled in login execution mode",
                       "--allow-client-user");
        t.username.payload_case = WEBTTY__USERNAME__PAYLOAD_ID;
        t.username.id = 0;
        expect_refusal(&t, false, &cfg_default, -EPERM,
                       "client-selected OS users are disabled in login execution mode",
                       "--allow-client-user");
}
END_TEST

START_TEST(test_derive_client_user_allowed) {
        login_config cfg = {.allow_client_user = true};
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *why = NULL, *peer = NULL;
        login_derived d;
        test_open t;
        loginproto_request req;

        open_init(&t);
        t.username.payload_case = WEBTTY__USERNAME__PAYLOAD_ID;
        t.username.id = 0; /* resolved to its name */
        t.config.username = &t.username;
        req = request_for(&t, &buf, false);
        ck_assert_int_eq(login_request_derive(&req, &cfg, &d, &why, &peer), 0);
        ck_assert_str_eq(d.proof.requested_user, "root");
        ck_assert_str_eq(d.proof.default_user, "");
        ck_assert_str_eq(d.proof.server_labels, "");
        login_derived_done(&d);

        t.username.id = 4000000000u;
        expect_refusal(&t, false, &cfg, -ESRCH,
                       "failed to get user info: user lookup: user: unknown userid 4000000000",
                       "4000000000");
        t.username.payload_case = WEBTTY__USERNAME__PAYLOAD_NAME;
        t.username.name = "";
        expect_refusal(&t, false, &cfg, -ESRCH, "failed to get user info: user lookup: user: unknown user ",
                       "empty");
}
END_TEST

START_TEST(test_derive_malformed) {
        _cleanup_free_ char *why = NULL, *peer = NULL;
        login_derived d;
        uint8_t junk[] = {0xff, 0xff, 0xff};
        loginproto_request req = {.transport = "plain", .open = junk, .open_len = sizeof junk};
        test_open t;

        ck_assert_int_eq(login_request_derive(&req, &cfg_default, &d, &why, &peer), -EBADMSG);
        ck_assert_str_eq(peer, LOGIN_MALFORMED_TEXT);
        ck_assert(strstr(why, "does not decode"));

        open_init(&t);
        t.open.config = NULL;
        t.grant.payload_suite = 1; /* so the Open is not empty */
        t.open.session_key_grant = &t.grant;
        expect_refusal(&t, false, &cfg_default, -EBADMSG, "missing open config", "without config");

        open_init(&t);
        open_add_proof(&t);
        expect_refusal(&t, false, &cfg_default, -EBADMSG, LOGIN_MALFORMED_TEXT, "without a server nonce");
}
END_TEST

START_TEST(test_derive_unknown_transport) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *why = NULL, *peer = NULL;
        login_derived d;
        test_open t;
        loginproto_request req;

        open_init(&t);
        req = request_for(&t, &buf, false);
        req.transport = "carrier-pigeon";
        ck_assert_int_eq(login_request_derive(&req, &cfg_default, &d, &why, &peer), -EBADMSG);
        ck_assert_str_eq(peer, LOGIN_MALFORMED_TEXT);
        ck_assert(strstr(why, "transport"));
}
END_TEST

/* ---- labels, argv, environment -------------------------------------------- */

START_TEST(test_labels) {
        _cleanup_free_ char *l = NULL;

        ck_assert_int_eq(login_label_append(&l, "env=prod"), 0);
        ck_assert_int_eq(login_label_append(&l, "team.name/x-y=a b=c"), 0);
        ck_assert_str_eq(l, "env=prod\nteam.name/x-y=a b=c");
        ck_assert_int_eq(login_label_append(&l, "noequals"), -EINVAL);
        ck_assert_int_eq(login_label_append(&l, "=v"), -EINVAL);
        ck_assert_int_eq(login_label_append(&l, "k k=v"), -EINVAL);
        ck_assert_int_eq(login_label_append(&l, "k=line\nbreak"), -EINVAL);
        ck_assert_str_eq(l, "env=prod\nteam.name/x-y=a b=c");
}
END_TEST

START_TEST(test_shell_argv) {
        char *args[] = {"echo", "a b", "'c'"};
        Webtty__Config config = WEBTTY__CONFIG__INIT;
        char **argv = NULL;

        ck_assert_int_eq(login_shell_argv("/bin/bash", &config, &argv), 0);
        ck_assert_str_eq(argv[0], "-bash");
        ck_assert_ptr_null(argv[1]);
        strv_free(argv);
        ck_assert_int_eq(login_shell_argv("sh", NULL, &argv), 0);
        ck_assert_str_eq(argv[0], "-sh");
        strv_free(argv);

        config.cmd_args = args;
        config.n_cmd_args = 3;
        ck_assert_int_eq(login_shell_argv("/usr/bin/zsh", &config, &argv), 0);
        ck_assert_str_eq(argv[0], "zsh");
        ck_assert_str_eq(argv[1], "-c");
        /* Several arguments: each one a quoted word, so "a b" stays one. */
        ck_assert_str_eq(argv[2], "'echo' 'a b' ''\\''c'\\'''");
        ck_assert_ptr_null(argv[3]);
        strv_free(argv);
        /* One argument: the command line as the client wrote it. */
        args[0] = "ls | wc -l";
        config.n_cmd_args = 1;
        ck_assert_int_eq(login_shell_argv("/bin/sh", &config, &argv), 0);
        ck_assert_str_eq(argv[2], "ls | wc -l");
        strv_free(argv);
}
END_TEST

static char **strv_new(const char *const *l) {
        size_t n = 0;
        char **r;

        while (l[n])
                n++;
        r = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = strdup(l[i]);
        return r;
}

START_TEST(test_env_merge) {
        char **env = strv_new((const char *const[]){"PATH=/bin", "LANG=C", "X=1", NULL});
        char **pam = strv_new((const char *const[]){"LANG=de_DE.UTF-8", "NEW=2", "bad", "=x", "X=", NULL});

        ck_assert_int_eq(login_env_merge_pam(&env, pam), 0);
        ck_assert_str_eq(env[0], "PATH=/bin");
        ck_assert_str_eq(env[1], "LANG=de_DE.UTF-8");
        ck_assert_str_eq(env[2], "X=");
        ck_assert_str_eq(env[3], "NEW=2");
        ck_assert_ptr_null(env[4]);
        strv_free(env);
        strv_free(pam);
}
END_TEST

/* ---- the PAM conversation --------------------------------------------------- */

static int converse(login_conv *c, int style, const char *text, struct pam_response **resp) {
        struct pam_message m = {.msg_style = style, .msg = text};
        const struct pam_message *mp = &m;

        return login_pam_conv(1, &mp, resp, c);
}

START_TEST(test_conversation) {
        login_conv c = {.bundle = "QUJD", .peer = "192.0.2.1"};
        struct pam_response *resp = NULL;

        ck_assert_int_eq(converse(&c, PAM_PROMPT_ECHO_OFF, LOGINPROTO_PAM_PROMPT, &resp), PAM_SUCCESS);
        ck_assert_str_eq(resp[0].resp, "QUJD");
        ck_assert_uint_eq(c.n_answered, 1);
        free(resp[0].resp);
        free(resp);

        /* a password prompt, or the rstream prompt echoed on: nobody answers */
        resp = NULL;
        ck_assert_int_eq(converse(&c, PAM_PROMPT_ECHO_OFF, "Password: ", &resp), PAM_CONV_ERR);
        ck_assert_ptr_null(resp);
        ck_assert_int_eq(converse(&c, PAM_PROMPT_ECHO_ON, LOGINPROTO_PAM_PROMPT, &resp), PAM_CONV_ERR);
        ck_assert_int_eq(converse(&c, PAM_PROMPT_ECHO_ON, "login:", &resp), PAM_CONV_ERR);
        ck_assert_ptr_null(resp);

        /* messages are logged, not answered */
        ck_assert_int_eq(converse(&c, PAM_TEXT_INFO, "Welcome", &resp), PAM_SUCCESS);
        ck_assert_ptr_null(resp[0].resp);
        free(resp);
        ck_assert_int_eq(converse(&c, PAM_ERROR_MSG, "Nope", &resp), PAM_SUCCESS);
        free(resp);
        ck_assert_int_eq(converse(&c, 42, "?", &resp), PAM_CONV_ERR);

        /* without a bundle even the rstream prompt is refused */
        c.bundle = NULL;
        ck_assert_int_eq(converse(&c, PAM_PROMPT_ECHO_OFF, LOGINPROTO_PAM_PROMPT, &resp), PAM_CONV_ERR);
}
END_TEST

static Suite *login_suite(void) {
        Suite *s = suite_create("login");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_derive_unauthenticated);
        tcase_add_test(tc, test_derive_proof_and_grant);
        tcase_add_test(tc, test_bundle_text_round_trip);
        tcase_add_test(tc, test_derive_client_user_disabled);
        tcase_add_test(tc, test_derive_client_user_allowed);
        tcase_add_test(tc, test_derive_malformed);
        tcase_add_test(tc, test_derive_unknown_transport);
        tcase_add_test(tc, test_labels);
        tcase_add_test(tc, test_shell_argv);
        tcase_add_test(tc, test_env_merge);
        tcase_add_test(tc, test_conversation);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(login_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
