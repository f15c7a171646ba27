/* pam_rstream.so through real libpam, loaded by pam_wrapper from a private
 * service directory (no /etc/pam.d involved): every phase, every argument
 * and its errors, every return code.
 *
 * The program re-executes itself once with LD_PRELOAD=libpam_wrapper.so,
 * after writing the PAM services (which name the built module by absolute
 * path and the files of a scratch directory) because pam_wrapper copies the
 * service directory when it is loaded. Each test then writes the server
 * identity, authorized clients and policy it needs into that directory and
 * builds real ClientProofs with lib/ (sigkey, authcore, loginproto).
 *
 * pam_wrapper routes pam_syslog() to stderr (PAM_WRAPPER_DEBUGLEVEL), so
 * every test captures stderr into a file and asserts the log lines.
 *
 * The session and require_session tests need root: they write
 * /proc/self/loginuid (which gives the test process a fresh audit session
 * id) and are skipped with a message otherwise. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libpamtest.h>
#include <security/pam_appl.h>
#include <sodium.h>

#include "accountsdb.h"
#include "authcore.h"
#include "b64u.h"
#include "identity.h"
#include "loginproto.h"
#include "macro.h"
#include "sigkey.h"
#include "truststore.h"

#define MODULE BUILDDIR "/pam_rstream/.libs/pam_rstream.so"
#define ENV_DIR "PAM_RSTREAM_TEST_DIR"
#define SERVER_ID "srv-1"
#define WORKSPACE_ID "ws-1"
#define PROJECT_ID "prj-1"

DEFINE_TRIVIAL_CLEANUP_FUNC(sigkey, sigkey_free);

static const char *T; /* the scratch directory (from ENV_DIR) */

/* ---- files ------------------------------------------------------------------ */

static char *tpath(const char *name) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", T, name), 0);
        return p;
}

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        size_t n = strlen(text);

        ck_assert_msg(fd >= 0, "open %s: %m", path);
        ck_assert_int_eq(write(fd, text, n), (ssize_t) n);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &len, '\0', f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        (void) remove(p);
        return 0;
}

static void rm_rf(const char *p) {
        (void) nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

static size_t count_entries(const char *dir) {
        _cleanup_free_ char *cmd = NULL;
        size_t n = 0;
        FILE *f;
        char line[512];

        ck_assert_int_ge(asprintf(&cmd, "ls -A '%s' 2>/dev/null", dir), 0);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f))
                n++;
        pclose(f);
        return n;
}

/* ---- log capture ------------------------------------------------------------ */

static char *log_path;

static void log_reset(void) {
        int fd;

        fflush(stderr);
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);
}

#define ck_assert_log(want)                                                                                 \
        do {                                                                                                \
                _cleanup_free_ char *_log = (fflush(stderr), read_file(log_path));                          \
                ck_assert_msg(_log &&strstr(_log, (want)), "log lacks \"%s\"; log:\n%s", (want),            \
                              _log ? _log : "(none)");                                                      \
        } while (0)

#define ck_assert_log_lacks(bad)                                                                            \
        do {                                                                                                \
                _cleanup_free_ char *_log = (fflush(stderr), read_file(log_path));                          \
                ck_assert_msg(!_log || !strstr(_log, (bad)), "log has \"%s\"; log:\n%s", (bad), _log);      \
        } while (0)

/* ---- the fixture: server identity, a client key, authorized clients ---------- */

typedef struct fixture {
        endpoint_identity *server;
        sigkey *client; /* "alice", authorized */
        uint8_t client_id[SIGKEY_ID_LEN], client_spki[SIGKEY_SPKI_LEN];
        char client_hex[2 * SIGKEY_ID_LEN + 1];
} fixture;

static fixture fx;

static const char *POLICY_DEFAULT = "version: 1\n"
                                    "accounts:\n"
                                    "  uid_range: 70000-79999\n"
                                    "  home: /home/{user}\n"
                                    "  shell: /bin/sh\n"
                                    "  gecos: \"rstream {name}\"\n"
                                    "rules:\n"
                                    "  - name: blocked\n"
                                    "    match: {client: [mallory]}\n"
                                    "    deny: true\n"
                                    "  - name: ops\n"
                                    "    match: {client: [alice]}\n"
                                    "    user: nobody\n"
                                    "    sudo: true\n";

static void write_policy(const char *yaml) {
        _cleanup_free_ char *p = tpath("policy.yaml");

        write_file(p, yaml, 0644);
}

static void write_clients(const char *name, const uint8_t id[SIGKEY_ID_LEN],
                          const uint8_t spki[SIGKEY_SPKI_LEN]) {
        _cleanup_free_ char *p = tpath("clients.json"), *key = NULL, *err = NULL;

        ck_assert_int_eq(authorized_client_key_format(id, spki, &key), 0);
        ck_assert_msg(authorized_clients_add(p, name, key, time(NULL), NULL, &err) == 0, "%s", err);
}

static void fixture_setup(void) {
        _cleanup_free_ char *idp = tpath("identity.json"), *cp = tpath("clients.json"),
                            *reg = tpath("registry"), *rep = tpath("replay"), *db = tpath("accounts.db");
        char *text = NULL;
        size_t len = 0;

        free(log_path);
        log_path = tpath("log");
        log_reset();
        rm_rf(reg);
        rm_rf(rep);
        (void) unlink(db);
        (void) unlink(cp);

        ck_assert_int_eq(endpoint_identity_generate(ENCKEY_SUITE_X25519, &fx.server), 0);
        ck_assert_int_eq(endpoint_identity_format(fx.server, time(NULL), &text, &len), 0);
        {
                int fd = open(idp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(write(fd, text, len), (ssize_t) len);
                ck_assert_int_eq(fchmod(fd, 0600), 0); /* a previous test may have changed it */
                close(fd);
        }
        sodium_free(text);

        ck_assert_int_eq(sigkey_generate(&fx.client), 0);
        ck_assert_int_eq(sigkey_spki(fx.client, fx.client_spki), 0);
        sigkey_id_from_spki(fx.client_spki, SIGKEY_SPKI_LEN, fx.client_id);
        for (size_t i = 0; i < SIGKEY_ID_LEN; i++)
                snprintf(fx.client_hex + 2 * i, 3, "%02x", fx.client_id[i]);
        write_clients("alice", fx.client_id, fx.client_spki);
        write_policy(POLICY_DEFAULT);
}

static void fixture_teardown(void) {
        fx.server = endpoint_identity_free(fx.server);
        fx.client = sigkey_free(fx.client);
}

/* ---- proofs ------------------------------------------------------------------ */

typedef struct proof_opts {
        const sigkey *signer;  /* NULL: fx.client */
        bool unauthenticated;  /* has_proof false */
        bool bad_signature;    /* last signature byte flipped */
        bool tamper_nonce;     /* the bundle's nonce differs from the signed one */
        int64_t issued_offset; /* seconds from now */
        const char *server_id; /* signed server id (NULL: SERVER_ID) */
        const char *requested_user, *default_user, *server_labels;
        bool no_grant;
} proof_opts;

/* The base64url proof bundle webttyd-login would answer the prompt with. */
static char *make_bundle(const proof_opts *o) {
        _cleanup_free_ uint8_t *sig = NULL, *raw = NULL;
        uint8_t nonce[32], grant[32], config[32], cred[32], hash[32], spki[SIGKEY_SPKI_LEN],
                id[SIGKEY_ID_LEN];
        const sigkey *signer = o->signer ? o->signer : fx.client;
        char issued[21], expires[21];
        size_t sig_len = 0, raw_len = 0;
        char *b64 = NULL;
        time_t now = time(NULL) + o->issued_offset;

        randombytes_buf(nonce, sizeof(nonce));
        randombytes_buf(grant, sizeof(grant));
        randombytes_buf(config, sizeof(config));
        ck_assert_int_eq(sigkey_spki(signer, spki), 0);
        sigkey_id_from_spki(spki, sizeof(spki), id);
        ck_assert_int_eq(auth_format_rfc3339(now, issued), 0);
        ck_assert_int_eq(auth_format_rfc3339(now + AUTH_PROOF_TTL_SEC, expires), 0);
        auth_sha256(NULL, 0, cred);

        if (!o->unauthenticated) {
                const auth_client_transcript t = {
                        .protocol_version = AUTH_PROTOCOL_VERSION,
                        .transport = "websocket",
                        .workspace_id = WORKSPACE_ID,
                        .project_id = PROJECT_ID,
                        .server_id = o->server_id ? o->server_id : SERVER_ID,
                        .session_id = "sess-1",
                        .server_signing_key_id = {fx.server->pub.sig_id, SIGKEY_ID_LEN},
                        .server_encryption_key_id = {fx.server->pub.enc_id, ENCKEY_ID_LEN},
                        .server_nonce = {nonce, sizeof(nonce)},
                        .auth_requirement = AUTH_REQUIREMENT_CLIENT_PROOF,
                        .payload_suite = 1,
                        .key_envelope_suite = 1,
                        .session_key_grant_hash = {grant, sizeof(grant)},
                        .command_config_hash = {config, sizeof(config)},
                        .requested_role = "",
                        .client_principal_id = "",
                        .client_signing_key_id = {id, sizeof(id)},
                        .client_credential_hash = {cred, sizeof(cred)},
                        .issued_at = issued,
                        .expires_at = expires,
                };
                if (o->no_grant) /* the server identity's suite pair, hash of an absent grant */
                        auth_sha256(NULL, 0, grant);
                ck_assert_int_eq(auth_client_transcript_hash(&t, hash), 0);
                ck_assert_int_eq(sigkey_sign(signer, hash, &sig, &sig_len), 0);
                if (o->bad_signature)
                        sig[sig_len - 1] ^= 1;
        }

        loginproto_proof p = {
                .transport = (char *) "websocket",
                .session_id = (char *) "sess-1",
                .has_grant = !o->no_grant,
                .payload_suite = o->no_grant ? 0 : 1,
                .key_envelope_suite = o->no_grant ? 0 : 1,
                .has_proof = !o->unauthenticated,
                .requested_user = (char *) (o->requested_user ? o->requested_user : ""),
                .default_user = (char *) (o->default_user ? o->default_user : ""),
                .server_labels = (char *) (o->server_labels ? o->server_labels : ""),
        };
        memcpy(p.nonce, nonce, sizeof(nonce));
        if (o->tamper_nonce)
                p.nonce[0] ^= 1;
        memcpy(p.grant_hash, grant, sizeof(grant));
        memcpy(p.config_hash, config, sizeof(config));
        if (!o->unauthenticated) {
                p.signature_suite = AUTH_SIGNATURE_SUITE_ECDSA_P256_SHA256;
                p.signing_key_id = id;
                p.signing_key_id_len = sizeof(id);
                p.signing_public_key = spki;
                p.signing_public_key_len = sizeof(spki);
                p.transcript_hash = hash;
                p.transcript_hash_len = sizeof(hash);
                p.signature = sig;
                p.signature_len = sig_len;
                p.issued_at = issued;
                p.expires_at = expires;
        } else {
                p.issued_at = (char *) "";
                p.expires_at = (char *) "";
        }
        ck_assert_int_eq(loginproto_encode_proof(&p, &raw, &raw_len), 0);
        ck_assert_int_eq(b64u_encode(raw, raw_len, &b64), 0);
        return b64;
}

static char *valid_bundle(void) {
        return make_bundle(&(proof_opts){});
}

/* ---- PAM transactions ---------------------------------------------------------- */

typedef struct txn {
        pam_handle_t *ph;
        struct pam_conv conv;
        const char *answer; /* NULL: the conversation fails */
        int calls, style;
        char prompt[128];
} txn;

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        txn *t = data;
        struct pam_response *r;

        t->calls++;
        if (n != 1)
                return PAM_CONV_ERR;
        t->style = msg[0]->msg_style;
        snprintf(t->prompt, sizeof(t->prompt), "%s", msg[0]->msg);
        if (!t->answer)
                return PAM_CONV_ERR;
        r = calloc(1, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        r->resp = strdup(t->answer);
        *resp = r;
        return PAM_SUCCESS;
}

static txn *txn_start(const char *service, const char *user, const char *answer) {
        txn *t = calloc(1, sizeof(*t));

        ck_assert_ptr_nonnull(t);
        t->answer = answer;
        t->conv = (struct pam_conv){conv_fn, t};
        ck_assert_int_eq(pam_start(service, user, &t->conv, &t->ph), PAM_SUCCESS);
        return t;
}

static void txn_end(txn *t) {
        pam_end(t->ph, PAM_SUCCESS);
        free(t);
}

static const char *item(txn *t, int type) {
        const void *v = NULL;

        ck_assert_int_eq(pam_get_item(t->ph, type, &v), PAM_SUCCESS);
        return v;
}

#define ck_assert_pam(call, want)                                                                           \
        do {                                                                                                \
                int _rc = (call);                                                                           \
                _cleanup_free_ char *_log = (fflush(stderr), read_file(log_path));                          \
                ck_assert_msg(_rc == (want), "%s = %d (%s), want %d (%s); log:\n%s", #call, _rc,            \
                              pam_strerror(NULL, _rc), (want), pam_strerror(NULL, (want)),                  \
                              _log ? _log : "");                                                            \
        } while (0)

/* auth with the bundle on service; returns the code. */
static int auth_once(const char *service, const char *user, const char *bundle) {
        txn *t = txn_start(service, user, bundle);
        int rc = pam_authenticate(t->ph, 0);

        txn_end(t);
        return rc;
}

/* ---- build properties ----------------------------------------------------------- */

static char *run_output(const char *cmd) {
        FILE *f = popen(cmd, "r");
        char *buf = NULL;
        size_t len = 0;

        ck_assert_ptr_nonnull(f);
        if (getdelim(&buf, &len, '\0', f) < 0) {
                free(buf);
                buf = strdup("");
        }
        ck_assert_int_eq(pclose(f), 0);
        return buf;
}

START_TEST(test_elf_needed) {
        _cleanup_free_ char *needed = run_output("readelf -d " MODULE);
        _cleanup_free_ char *syms = run_output("nm -D --defined-only " MODULE);
        char *line, *save = NULL;

        ck_assert_ptr_nonnull(strstr(needed, "libpam.so"));
        ck_assert_msg(!strstr(needed, "libprotobuf-c"), "module needs protobuf-c:\n%s", needed);
        ck_assert_msg(!strstr(needed, "libsystemd"), "module needs libsystemd:\n%s", needed);
        /* Only the five entry points are exported. */
        for (line = strtok_r(syms, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *name = strrchr(line, ' ');

                ck_assert_ptr_nonnull(name);
                ck_assert_msg(strncmp(name + 1, "pam_sm_", 7) == 0, "exported: %s", line);
        }
}
END_TEST

/* ---- arguments --------------------------------------------------------------------- */

typedef struct bad_arg {
        const char *args;
        const char *message;
        bool session_only; /* the service has only a session line */
} bad_arg;

static const bad_arg bad_args[] = {
        {"frobnicate", "unknown argument \"frobnicate\"", false},
        {"identity", "argument identity needs a value", false},
        {"identity=", "argument identity needs a value", false},
        {"identity=relative/path", "argument identity must be an absolute path", false},
        {"registry=rel", "argument registry must be an absolute path", false},
        {"debug=1", "argument debug takes no value", false},
        {"require_session=yes", "argument require_session takes no value", false},
        {"[server_id=a b]", "argument server_id must be printable ASCII without spaces", false},
        {"require_session callers=a,,b", "argument callers must be a comma-separated list", false},
        {"require_session callers=a,", "argument callers must be a comma-separated list", false},
        {"sudo", "arguments sudo and callers= need require_session", false},
        {"callers=alice", "arguments sudo and callers= need require_session", false},
        {"policy=/a policy=/b", "argument policy given twice", false},
        {"require_session allow_unauthenticated", "allow_unauthenticated cannot be combined", false},
        {"require_session", "require_session belongs in the auth or account phase", true},
};

START_TEST(test_bad_arguments) {
        const bad_arg *b = &bad_args[_i];
        char service[32];
        txn *t;

        snprintf(service, sizeof(service), "rs-bad-%d", _i);
        t = txn_start(service, "nobody", "x");
        if (!b->session_only) {
                log_reset();
                ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SERVICE_ERR);
                ck_assert_log(b->message);
                ck_assert_int_eq(t->calls, 0); /* refused before any conversation */
                log_reset();
                ck_assert_pam(pam_setcred(t->ph, PAM_ESTABLISH_CRED), PAM_CRED_ERR);
                ck_assert_log(b->message);
                log_reset();
                ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_SERVICE_ERR);
                ck_assert_log(b->message);
        }
        log_reset();
        ck_assert_pam(pam_open_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log(b->message);
        log_reset();
        ck_assert_pam(pam_close_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log(b->message);
        txn_end(t);
}
END_TEST

/* ---- auth ---------------------------------------------------------------------------- */

START_TEST(test_auth_valid) {
        _cleanup_free_ char *bundle = valid_bundle();
        txn *t = txn_start("rs", NULL, bundle);

        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        /* One PAM_PROMPT_ECHO_OFF with exactly the protocol prompt. */
        ck_assert_int_eq(t->calls, 1);
        ck_assert_int_eq(t->style, PAM_PROMPT_ECHO_OFF);
        ck_assert_str_eq(t->prompt, LOGINPROTO_PAM_PROMPT);
        ck_assert_str_eq(item(t, PAM_USER), "nobody");
        ck_assert_str_eq(item(t, PAM_RUSER), "alice");
        ck_assert_log("accepted caller \"alice\" key");
        ck_assert_log("from - as user nobody (rule ops, sudo)");
        ck_assert_pam(pam_setcred(t->ph, PAM_ESTABLISH_CRED), PAM_SUCCESS);
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_SUCCESS);
        txn_end(t);
}
END_TEST

START_TEST(test_auth_no_grant) {
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.no_grant = true});

        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_SUCCESS);
}
END_TEST

START_TEST(test_auth_libpamtest) {
        /* The same through libpamtest's own conversation. */
        _cleanup_free_ char *bundle = valid_bundle();
        const char *answers[] = {bundle, NULL};
        struct pamtest_conv_data conv = {.in_echo_off = answers};
        struct pam_testcase cases[] = {
                pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
                pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
                pam_test(PAMTEST_SETCRED, PAM_SUCCESS),
        };
        enum pamtest_err perr = run_pamtest("rs", "nobody", &conv, cases, NULL);

        ck_assert_msg(perr == PAMTEST_ERR_OK, "%s", pamtest_strerror(perr));
}
END_TEST

START_TEST(test_auth_expired) {
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.issued_offset = -120});

        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTH_ERR);
        ck_assert_log("WebTTY client proof has expired");
        ck_assert_log("from -"); /* no PAM_RHOST */
}
END_TEST

START_TEST(test_auth_future) {
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.issued_offset = 120});

        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTH_ERR);
        ck_assert_log("not valid yet");
}
END_TEST

START_TEST(test_auth_bad_signature) {
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.bad_signature = true});
        char prefix[17];
        txn *t = txn_start("rs", "nobody", bundle);

        ck_assert_int_eq(pam_set_item(t->ph, PAM_RHOST, "198.51.100.7"), PAM_SUCCESS);
        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_AUTH_ERR);
        txn_end(t);
        ck_assert_log("signature is invalid");
        /* The refusal names the key id prefix and the peer. */
        memcpy(prefix, fx.client_hex, 16);
        prefix[16] = '\0';
        ck_assert_log(prefix);
        ck_assert_log("from 198.51.100.7");
        ck_assert_log_lacks(fx.client_hex); /* a prefix, not the whole id */
}
END_TEST

START_TEST(test_auth_wrong_server_id) {
        /* Signed for another server: the module's server_id= is in the transcript. */
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.server_id = "srv-2"});

        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTH_ERR);
        ck_assert_log("transcript hash does not match");
}
END_TEST

START_TEST(test_auth_tampered_nonce) {
        /* A webttyd replaying a real proof into another handshake. */
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.tamper_nonce = true});

        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTH_ERR);
        ck_assert_log("transcript hash does not match");
}
END_TEST

#define N_THREADS 4
#define N_PER_THREAD 4

typedef struct thread_job {
        char *bundles[N_PER_THREAD];
        int rc[N_PER_THREAD];
        char users[N_PER_THREAD][32];
} thread_job;

static void *auth_thread(void *data) {
        thread_job *job = data;

        for (int i = 0; i < N_PER_THREAD; i++) {
                txn t = {.answer = job->bundles[i]};
                const void *u = NULL;

                t.conv = (struct pam_conv){conv_fn, &t};
                job->rc[i] = pam_start("rs", NULL, &t.conv, &t.ph);
                if (job->rc[i] != PAM_SUCCESS)
                        continue;
                job->rc[i] = pam_authenticate(t.ph, 0);
                if (job->rc[i] == PAM_SUCCESS)
                        job->rc[i] = pam_acct_mgmt(t.ph, 0);
                if (pam_get_item(t.ph, PAM_USER, &u) == PAM_SUCCESS && u)
                        snprintf(job->users[i], sizeof(job->users[i]), "%s", (const char *) u);
                pam_end(t.ph, PAM_SUCCESS);
        }
        return NULL;
}

START_TEST(test_auth_threads) {
        /* Concurrent transactions in one process: no shared state. */
        thread_job jobs[N_THREADS] = {};
        pthread_t th[N_THREADS];
        _cleanup_free_ char *rep = tpath("replay");

        for (int t = 0; t < N_THREADS; t++)
                for (int i = 0; i < N_PER_THREAD; i++)
                        jobs[t].bundles[i] = valid_bundle();
        /* pam_wrapper loads libpam lazily on the first pam_start(), and that
         * is not thread-safe (an occasional PAM_ABORT): do it here first. */
        txn_end(txn_start("rs", NULL, NULL));
        for (int t = 0; t < N_THREADS; t++)
                ck_assert_int_eq(pthread_create(&th[t], NULL, auth_thread, &jobs[t]), 0);
        for (int t = 0; t < N_THREADS; t++)
                ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        for (int t = 0; t < N_THREADS; t++)
                for (int i = 0; i < N_PER_THREAD; i++) {
                        ck_assert_msg(jobs[t].rc[i] == PAM_SUCCESS, "thread %d auth %d: %s", t, i,
                                      pam_strerror(NULL, jobs[t].rc[i]));
                        ck_assert_str_eq(jobs[t].users[i], "nobody");
                        free(jobs[t].bundles[i]);
                }
        ck_assert_uint_eq(count_entries(rep), N_THREADS * N_PER_THREAD);
}
END_TEST

START_TEST(test_auth_unknown_key) {
        _cleanup_(sigkey_freep) sigkey *other = NULL;
        _cleanup_free_ char *bundle = NULL;

        ck_assert_int_eq(sigkey_generate(&other), 0);
        bundle = make_bundle(&(proof_opts){.signer = other});
        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTH_ERR);
        ck_assert_log("WebTTY client signing key is not authorized");
}
END_TEST

START_TEST(test_auth_replay) {
        _cleanup_free_ char *bundle = valid_bundle(), *rep = tpath("replay");
        struct stat st;

        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_SUCCESS);
        log_reset();
        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTH_ERR);
        ck_assert_log("WebTTY client proof is invalid: proof was already used");
        /* One entry, 0600 in a 0700 directory. */
        ck_assert_int_eq(stat(rep, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0700);
        ck_assert_uint_eq(count_entries(rep), 1);
}
END_TEST

START_TEST(test_replay_prune) {
        _cleanup_free_ char *rep = tpath("replay"), *bundle = valid_bundle();
        _cleanup_free_ char *expired = NULL, *live = NULL, *junk = NULL, *other = NULL;
        char text[32];

        ck_assert_int_eq(mkdir(rep, 0700), 0);
        ck_assert_int_ge(asprintf(&expired, "%s/%064d", rep, 1), 0);
        ck_assert_int_ge(asprintf(&live, "%s/%064d", rep, 2), 0);
        ck_assert_int_ge(asprintf(&junk, "%s/%064d", rep, 3), 0);
        ck_assert_int_ge(asprintf(&other, "%s/README", rep), 0);
        write_file(expired, "1000\n", 0600);
        snprintf(text, sizeof(text), "%lld\n", (long long) time(NULL) + 600);
        write_file(live, text, 0600);
        write_file(junk, "", 0600); /* unreadable content: never removed */
        write_file(other, "x", 0600);
        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_SUCCESS);
        ck_assert(!exists(expired));
        ck_assert(exists(live));
        ck_assert(exists(junk));
        ck_assert(exists(other));
}
END_TEST

START_TEST(test_replay_dir_insecure) {
        _cleanup_free_ char *rep = tpath("replay"), *bundle = valid_bundle();

        ck_assert_int_eq(mkdir(rep, 0700), 0);
        ck_assert_int_eq(chmod(rep, 0777), 0);
        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("must not be writable by group or others");
        ck_assert_uint_eq(count_entries(rep), 0);
}
END_TEST

START_TEST(test_replay_dir_symlink) {
        _cleanup_free_ char *rep = tpath("replay"), *bundle = valid_bundle();

        ck_assert_int_eq(symlink("/tmp", rep), 0);
        ck_assert_pam(auth_once("rs", "nobody", bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("is not a directory (or is a symbolic link)");
}
END_TEST

START_TEST(test_auth_policy_deny) {
        /* The same key listed as "mallory", whom a deny rule blocks. */
        _cleanup_free_ char *bundle = valid_bundle(), *cp = tpath("clients.json"), *err = NULL;

        write_clients("mallory", fx.client_id, fx.client_spki);
        ck_assert_int_eq(authorized_clients_remove(cp, "alice", &err), 0);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTH_ERR);
        ck_assert_log("refused caller \"mallory\"");
        ck_assert_log("denied by policy (rule \"blocked\")");
}
END_TEST

START_TEST(test_auth_policy_default_deny) {
        _cleanup_free_ char *bundle = valid_bundle();

        write_policy("version: 1\nrules: []\n");
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTH_ERR);
        ck_assert_log("denied by policy (rule \"default deny\")");
}
END_TEST

START_TEST(test_auth_policy_malformed) {
        _cleanup_free_ char *bundle = valid_bundle();

        write_policy("version: 1\nrules:\n  - name: x\n    frobnicate: 1\n");
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("policy: ");
        ck_assert_log("policy.yaml:");
}
END_TEST

START_TEST(test_auth_policy_missing) {
        _cleanup_free_ char *bundle = valid_bundle(), *p = tpath("policy.yaml");

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("No such file or directory");
}
END_TEST

START_TEST(test_auth_identity_missing) {
        _cleanup_free_ char *bundle = valid_bundle(), *p = tpath("identity.json");

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("identity.json");
}
END_TEST

START_TEST(test_auth_identity_readable) {
        _cleanup_free_ char *bundle = valid_bundle(), *p = tpath("identity.json");

        ck_assert_int_eq(chmod(p, 0640), 0);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("must not be readable by group or others");
}
END_TEST

START_TEST(test_auth_clients_missing) {
        _cleanup_free_ char *bundle = valid_bundle(), *p = tpath("clients.json");

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("clients.json");
}
END_TEST

START_TEST(test_auth_clients_malformed) {
        _cleanup_free_ char *bundle = valid_bundle(), *p = tpath("clients.json");

        write_file(p, "{\"version\": 1, \"frob\": 2}", 0600);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("decode authorized WebTTY client keys");
}
END_TEST

START_TEST(test_auth_no_identity_arg) {
        _cleanup_free_ char *bundle = valid_bundle();

        ck_assert_pam(auth_once("rs-noid", NULL, bundle), PAM_SERVICE_ERR);
        ck_assert_log("identity= and authorized_clients= are required");
}
END_TEST

START_TEST(test_auth_template) {
        _cleanup_free_ char *bundle = NULL, *db = tpath("accounts.db");
        accountsdb *adb = NULL;
        accountsdb_user u;
        txn *t;

        write_policy("version: 1\n"
                     "accounts:\n"
                     "  uid_range: 70000-79999\n"
                     "  home: /home/{user}\n"
                     "  shell: /bin/sh\n"
                     "  gecos: \"rstream {name}\"\n"
                     "rules:\n"
                     "  - name: devs\n"
                     "    match: {client: [alice]}\n"
                     "    user_template: \"rs-{name}\"\n");
        bundle = valid_bundle();
        t = txn_start("rs", NULL, bundle);
        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        ck_assert_str_eq(item(t, PAM_USER), "rs-alice");
        txn_end(t);

        ck_assert_int_eq(accountsdb_open(db, &adb), 0);
        ck_assert_int_eq(accountsdb_user_by_name(adb, "rs-alice", &u), 0);
        ck_assert_uint_ge(u.uid, 70000);
        ck_assert_uint_le(u.uid, 79999);
        ck_assert_str_eq(u.home, "/home/rs-alice");
        ck_assert_str_eq(u.shell, "/bin/sh");
        ck_assert_str_eq(u.gecos, "rstream alice");
        accountsdb_close(adb);
}
END_TEST

START_TEST(test_auth_template_conflict) {
        /* A template that yields the name of a system account (daemon)
         * refuses the login: provisioning never takes an account over. */
        _cleanup_free_ char *bundle = valid_bundle(), *cp = tpath("clients.json"), *err = NULL;

        write_clients("n", fx.client_id, fx.client_spki);
        ck_assert_int_eq(authorized_clients_remove(cp, "alice", &err), 0);
        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: devs\n"
                     "    match: {client: [n]}\n"
                     "    user_template: \"daemo{name}\"\n");
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTH_ERR);
        ck_assert_log("provisioning user \"daemon\"");
}
END_TEST

START_TEST(test_auth_user_mismatch) {
        _cleanup_free_ char *bundle = valid_bundle();

        ck_assert_pam(auth_once("rs", "root", bundle), PAM_AUTH_ERR);
        ck_assert_log("PAM user \"root\" is not the user \"nobody\" the policy maps to (rule \"ops\")");
}
END_TEST

START_TEST(test_auth_user_unknown) {
        _cleanup_free_ char *bundle = valid_bundle();

        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: ghost\n"
                     "    match: {client: [alice]}\n"
                     "    user: no-such-user-rstream\n");
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_USER_UNKNOWN);
        ck_assert_log("user \"no-such-user-rstream\" (rule \"ghost\") does not exist");
}
END_TEST

START_TEST(test_auth_requested_user) {
        _cleanup_free_ char *bundle = make_bundle(&(proof_opts){.requested_user = "daemon"});
        _cleanup_free_ char *bad = make_bundle(&(proof_opts){.requested_user = "root"});

        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: pick\n"
                     "    match: {client: [alice]}\n"
                     "    client_user: {users: [daemon, nobody]}\n");
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_SUCCESS);
        ck_assert_log("as user daemon (rule pick)");
        ck_assert_pam(auth_once("rs", NULL, bad), PAM_AUTH_ERR);
        ck_assert_log("denied by policy");
}
END_TEST

START_TEST(test_auth_server_labels) {
        _cleanup_free_ char *prod = make_bundle(&(proof_opts){.server_labels = "env=prod\nzone=a"});
        _cleanup_free_ char *dev = make_bundle(&(proof_opts){.server_labels = "env=dev"});

        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: prod\n"
                     "    match: {client: [alice], server_labels: {env: prod}}\n"
                     "    user: nobody\n");
        ck_assert_pam(auth_once("rs", NULL, prod), PAM_SUCCESS);
        ck_assert_pam(auth_once("rs", NULL, dev), PAM_AUTH_ERR);
}
END_TEST

static const char *POLICY_UNAUTH = "version: 1\n"
                                   "rules:\n"
                                   "  - name: kiosk\n"
                                   "    match: {unauthenticated: true}\n"
                                   "    user: default\n";

START_TEST(test_auth_unauthenticated) {
        _cleanup_free_ char *bundle =
                make_bundle(&(proof_opts){.unauthenticated = true, .default_user = "nobody"});
        txn *t;

        /* Without allow_unauthenticated: refused whatever the policy says. */
        write_policy(POLICY_UNAUTH);
        ck_assert_pam(auth_once("rs", NULL, bundle), PAM_AUTH_ERR);
        ck_assert_log("unauthenticated session refused (module argument allow_unauthenticated not set)");

        /* With it and a matching rule: the default user, no PAM_RUSER. */
        t = txn_start("rs-unauth", NULL, bundle);
        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        ck_assert_str_eq(item(t, PAM_USER), "nobody");
        ck_assert_ptr_null(item(t, PAM_RUSER));
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_SUCCESS);
        txn_end(t);

        /* With it but no rule for unauthenticated sessions. */
        write_policy(POLICY_DEFAULT);
        log_reset();
        ck_assert_pam(auth_once("rs-unauth", NULL, bundle), PAM_AUTH_ERR);
        ck_assert_log("denied by policy");
}
END_TEST

START_TEST(test_auth_conversation) {
        txn *t;

        /* The conversation fails. */
        t = txn_start("rs", NULL, NULL);
        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_CONV_ERR);
        ck_assert_log("conversation failed");
        txn_end(t);
        /* Not base64url. */
        log_reset();
        ck_assert_pam(auth_once("rs", NULL, "not base64!"), PAM_AUTH_ERR);
        ck_assert_log("proof bundle is not canonical base64url");
        /* base64url of something that is not a bundle. */
        log_reset();
        ck_assert_pam(auth_once("rs", NULL, "AQYAAAAA"), PAM_AUTH_ERR);
        ck_assert_log("malformed proof bundle: ");
        /* Too large. */
        {
                size_t n = (LOGINPROTO_MAX / 3 + 1) * 4 + 8;
                _cleanup_free_ char *big = malloc(n + 1);

                ck_assert_ptr_nonnull(big);
                memset(big, 'A', n);
                big[n] = '\0';
                log_reset();
                ck_assert_pam(auth_once("rs", NULL, big), PAM_AUTH_ERR);
                ck_assert_log("proof bundle is larger than");
        }
}
END_TEST

/* ---- account ------------------------------------------------------------------------- */

START_TEST(test_account_without_auth) {
        txn *t = txn_start("rs-acct", "nobody", NULL);

        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_AUTH_ERR);
        ck_assert_log("no verified rstream caller in this PAM transaction");
        log_reset();
        ck_assert_pam(pam_open_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log("no verified rstream caller to open a session for");
        txn_end(t);
}
END_TEST

START_TEST(test_account_policy_changed) {
        _cleanup_free_ char *bundle = valid_bundle();
        txn *t = txn_start("rs", NULL, bundle);

        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        /* The policy now sends alice elsewhere, then refuses her. */
        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: moved\n"
                     "    match: {client: [alice]}\n"
                     "    user: daemon\n");
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_PERM_DENIED);
        ck_assert_log(
                "policy does not allow user \"nobody\" (rule \"moved\"): the caller maps to another user");
        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: gone\n"
                     "    match: {client: [alice]}\n"
                     "    deny: true\n");
        log_reset();
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_PERM_DENIED);
        ck_assert_log("refused caller \"alice\"");
        ck_assert_log("(rule \"gone\")");
        /* An unreadable policy fails closed. */
        write_policy("rules: [");
        log_reset();
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_AUTHINFO_UNAVAIL);
        ck_assert_log("policy: ");
        txn_end(t);
}
END_TEST

START_TEST(test_account_user_changed) {
        _cleanup_free_ char *bundle = valid_bundle();
        txn *t = txn_start("rs", NULL, bundle);

        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        ck_assert_int_eq(pam_set_item(t->ph, PAM_USER, "root"), PAM_SUCCESS);
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_PERM_DENIED);
        ck_assert_log("policy does not allow user \"root\"");
        txn_end(t);
}
END_TEST

/* ---- session ------------------------------------------------------------------------- */

static bool audit_session_set(void) {
        _cleanup_free_ char *s = read_file("/proc/self/sessionid");

        return s && strtoul(s, NULL, 10) != 4294967295UL;
}

START_TEST(test_session_needs_audit_session) {
        _cleanup_free_ char *bundle = valid_bundle(), *reg = tpath("registry");
        txn *t;

        if (audit_session_set()) {
                fprintf(stdout, "SKIP test_session_needs_audit_session: this process already has an audit "
                                "session\n");
                return;
        }
        t = txn_start("rs", NULL, bundle);
        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        ck_assert_pam(pam_open_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log("pam_loginuid must precede pam_rstream in the session stack");
        ck_assert_uint_eq(count_entries(reg), 0);
        txn_end(t);
}
END_TEST

/* Gives this (forked) test process a fresh audit session, as pam_loginuid
 * does for webttyd-login. false (after printing why) when not root. */
#define new_audit_session(loginuid) new_audit_session_for(__func__, (loginuid))
static bool new_audit_session_for(const char *test, uint32_t loginuid) {
        char text[16];
        int fd;

        if (geteuid() != 0) {
                fprintf(stdout, "SKIP %s: writing /proc/self/loginuid needs root\n", test);
                return false;
        }
        fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
        ck_assert_msg(fd >= 0, "open /proc/self/loginuid: %m");
        snprintf(text, sizeof(text), "%" PRIu32, loginuid);
        ck_assert_msg(write(fd, text, strlen(text)) == (ssize_t) strlen(text), "write loginuid: %m");
        close(fd);
        ck_assert(audit_session_set());
        return true;
}

static char *record_path(void) {
        _cleanup_free_ char *s = read_file("/proc/self/sessionid");
        char *p = NULL;

        ck_assert_ptr_nonnull(s);
        ck_assert_int_ge(asprintf(&p, "%s/registry/%lu", T, strtoul(s, NULL, 10)), 0);
        return p;
}

/* auth + account + open_session on "rs" as the opener. */
static txn *open_session(const char *bundle) {
        txn *t = txn_start("rs", NULL, bundle);

        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_SUCCESS);
        ck_assert_pam(pam_open_session(t->ph, 0), PAM_SUCCESS);
        return t;
}

START_TEST(test_session_env_and_registry) {
        _cleanup_free_ char *bundle = valid_bundle(), *rec = NULL, *reg = tpath("registry");
        json_object *o, *v;
        struct stat st;
        txn *t;

        if (!new_audit_session(4242))
                return;
        t = open_session(bundle);
        ck_assert_str_eq(pam_getenv(t->ph, "RSTREAM_CALLER"), "alice");
        ck_assert_str_eq(pam_getenv(t->ph, "RSTREAM_CALLER_KEY_ID"), fx.client_hex);
        ck_assert_str_eq(pam_getenv(t->ph, "RSTREAM_SESSION_ID"), "sess-1");
        ck_assert_str_eq(pam_getenv(t->ph, "RSTREAM_SERVER_ID"), SERVER_ID);

        rec = record_path();
        ck_assert_int_eq(stat(reg, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0700);
        ck_assert_int_eq(stat(rec, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(count_entries(reg), 1); /* no lock or temp file left */
        o = json_object_from_file(rec);
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "caller", &v));
        ck_assert_str_eq(json_object_get_string(v), "alice");
        ck_assert(json_object_object_get_ex(o, "user", &v));
        ck_assert_str_eq(json_object_get_string(v), "nobody");
        ck_assert(json_object_object_get_ex(o, "uid", &v));
        ck_assert_int_eq(json_object_get_int64(v), 65534);
        ck_assert(json_object_object_get_ex(o, "loginuid", &v));
        ck_assert_int_eq(json_object_get_int64(v), 4242);
        ck_assert(json_object_object_get_ex(o, "sudo", &v));
        ck_assert_int_eq(json_object_get_int64(v), 1);
        ck_assert(json_object_object_get_ex(o, "rule", &v));
        ck_assert_str_eq(json_object_get_string(v), "ops");
        ck_assert(json_object_object_get_ex(o, "opener_pid", &v));
        ck_assert_int_eq(json_object_get_int64(v), getpid());
        json_object_put(o);

        ck_assert_log("recorded audit session"); /* debug */
        ck_assert_pam(pam_close_session(t->ph, 0), PAM_SUCCESS);
        ck_assert(!exists(rec));
        ck_assert_log("removed audit session");
        txn_end(t);
}
END_TEST

START_TEST(test_session_prunes_stale) {
        /* Records of openers that are gone (a killed webttyd-login; a pid
         * reused by another process) go when the next session opens;
         * live, unreadable and foreign-named entries stay. */
        _cleanup_free_ char *bundle = valid_bundle(), *reg = tpath("registry"), *dead = NULL, *reused = NULL,
                            *live = NULL, *junk = NULL, *other = NULL, *text = NULL;
        int status = 0;
        pid_t pid;
        txn *t;

        if (!new_audit_session(4248))
                return;
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_int_eq(mkdir(reg, 0700), 0);
#define RECORD(path, id, opener, start)                                                                     \
        do {                                                                                                \
                free(text);                                                                                 \
                ck_assert_int_ge(asprintf(&(path), "%s/%u", reg, (unsigned) (id)), 0);                      \
                ck_assert_int_ge(asprintf(&text,                                                            \
                                          "{\"version\": 1, \"audit_session\": %u, \"loginuid\": 1, "       \
                                          "\"user\": \"nobody\", \"uid\": 65534, \"opener_pid\": %d, "      \
                                          "\"opener_start_time\": %llu}",                                   \
                                          (unsigned) (id), (int) (opener), (unsigned long long) (start)),   \
                                 0);                                                                        \
                write_file(path, text, 0600);                                                               \
        } while (0)
        RECORD(dead, 900001, pid, 1);
        RECORD(reused, 900002, getppid(), 1); /* alive, but another start time */
        {
                uint64_t start = 0;
                _cleanup_free_ char *stat = NULL, *path = NULL;
                char *p;

                ck_assert_int_ge(asprintf(&path, "/proc/%d/stat", (int) getppid()), 0);
                stat = read_file(path);
                ck_assert_ptr_nonnull(stat);
                p = strrchr(stat, ')');
                for (int f = 2; f < 22; f++)
                        p = strchr(p + 1, ' ');
                start = strtoull(p + 1, NULL, 10);
                RECORD(live, 900003, getppid(), start);
        }
        ck_assert_int_ge(asprintf(&junk, "%s/900004", reg), 0);
        write_file(junk, "{", 0600);
        ck_assert_int_ge(asprintf(&other, "%s/notes", reg), 0);
        write_file(other, "x", 0600);
#undef RECORD

        t = open_session(bundle);
        ck_assert_log("removed 2 stale session record(s)");
        ck_assert(!exists(dead));
        ck_assert(!exists(reused));
        ck_assert(exists(live));
        ck_assert(exists(junk));
        ck_assert(exists(other));
        txn_end(t);
}
END_TEST

START_TEST(test_session_registry_insecure) {
        _cleanup_free_ char *bundle = valid_bundle(), *reg = tpath("registry");
        txn *t;

        if (!new_audit_session(4243))
                return;
        ck_assert_int_eq(mkdir(reg, 0700), 0);
        ck_assert_int_eq(chmod(reg, 0757), 0);
        t = txn_start("rs", NULL, bundle);
        ck_assert_pam(pam_authenticate(t->ph, 0), PAM_SUCCESS);
        ck_assert_pam(pam_open_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log("session registry");
        ck_assert_log("must not be writable by group or others");
        txn_end(t);
}
END_TEST

/* Replaces "key": <old> with "key": value in the record. */
static void patch_record(const char *path, const char *key, json_object *value) {
        json_object *o = json_object_from_file(path);

        ck_assert_ptr_nonnull(o);
        json_object_object_add(o, key, value);
        ck_assert_int_eq(json_object_to_file(path, o), 0);
        ck_assert_int_eq(chmod(path, 0600), 0);
        json_object_put(o);
}

START_TEST(test_session_close_foreign) {
        _cleanup_free_ char *bundle = valid_bundle(), *rec = NULL;
        txn *t;

        if (!new_audit_session(4244))
                return;
        t = open_session(bundle);
        rec = record_path();
        patch_record(rec, "opener_pid", json_object_new_int64(1));
        ck_assert_pam(pam_close_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log("belongs to opener pid 1");
        ck_assert(exists(rec));
        txn_end(t);
}
END_TEST

/* ---- require_session ----------------------------------------------------------------- */

/* auth and account of a require_session service, as sudo would run them
 * (PAM_RUSER: the invoking user). */
static void require(const char *service, const char *ruser, int want_auth, int want_acct) {
        txn *t = txn_start(service, "root", NULL);

        if (ruser)
                ck_assert_int_eq(pam_set_item(t->ph, PAM_RUSER, ruser), PAM_SUCCESS);
        ck_assert_pam(pam_authenticate(t->ph, 0), want_auth);
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), want_acct);
        ck_assert_int_eq(t->calls, 0); /* nothing is asked */
        txn_end(t);
}

START_TEST(test_require_session) {
        _cleanup_free_ char *bundle = valid_bundle(), *rec = NULL;
        txn *t;

        if (!new_audit_session(4245))
                return;
        /* Not an rstream session yet. */
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("is not an rstream session");

        t = open_session(bundle);
        rec = record_path();
        log_reset();
        require("rs-req", "nobody", PAM_SUCCESS, PAM_SUCCESS);
        ck_assert_log("of caller \"alice\"");
        require("rs-req-sudo", "nobody", PAM_SUCCESS, PAM_SUCCESS);
        require("rs-req-callers-ok", "nobody", PAM_SUCCESS, PAM_SUCCESS);

        /* Wrong invoking user (PAM_RUSER), and getuid() (root) without one. */
        log_reset();
        require("rs-req", "daemon", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("invoking uid 1 is not the session's uid 65534");
        log_reset();
        require("rs-req", NULL, PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("invoking uid 0 is not the session's uid 65534");
        log_reset();
        require("rs-req", "no-such-user-rstream", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("invoking user \"no-such-user-rstream\" is unknown");

        /* callers= */
        log_reset();
        require("rs-req-callers-no", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("caller not in callers=bob,carol");

        /* The policy changes: no sudo any more, then no access at all. */
        write_policy("version: 1\n"
                     "rules:\n"
                     "  - name: ops\n"
                     "    match: {client: [alice]}\n"
                     "    user: nobody\n");
        log_reset();
        require("rs-req", "nobody", PAM_SUCCESS, PAM_SUCCESS);
        require("rs-req-sudo", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("rule \"ops\" no longer grants sudo");
        write_policy("version: 1\nrules: []\n");
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("the policy no longer maps the caller to \"nobody\"");
        write_policy("rules: [");
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("require_session: policy: ");
        write_policy(POLICY_DEFAULT);
        require("rs-req", "nobody", PAM_SUCCESS, PAM_SUCCESS);

        /* A record whose login uid is not ours. */
        patch_record(rec, "loginuid", json_object_new_int64(1));
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("login uid 4245 differs from the session's 1");
        patch_record(rec, "loginuid", json_object_new_int64(4245));
        /* A record that granted no sudo at login. */
        patch_record(rec, "sudo", json_object_new_int64(0));
        log_reset();
        require("rs-req-sudo", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("did not grant sudo at login");
        /* A corrupt record. */
        patch_record(rec, "sudo", json_object_new_string("yes"));
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("decode rstream session record");
        patch_record(rec, "sudo", json_object_new_int64(1));
        /* A group-readable record is refused. */
        ck_assert_int_eq(chmod(rec, 0640), 0);
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("must not be readable by group or others");
        ck_assert_int_eq(chmod(rec, 0600), 0);
        require("rs-req", "nobody", PAM_SUCCESS, PAM_SUCCESS);

        /* After close_session the process is no longer in an rstream session. */
        ck_assert_pam(pam_close_session(t->ph, 0), PAM_SUCCESS);
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("is not an rstream session");
        txn_end(t);
}
END_TEST

START_TEST(test_require_session_opener_gone) {
        _cleanup_free_ char *bundle = valid_bundle();
        int status = 0;
        pid_t pid;

        if (!new_audit_session(4246))
                return;
        /* The opener is a child (same audit session) that exits without
         * closing the session, like a killed webttyd-login. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                txn *t = calloc(1, sizeof(*t));

                if (!t)
                        _exit(2);
                t->answer = bundle;
                t->conv = (struct pam_conv){conv_fn, t};
                if (pam_start("rs", NULL, &t->conv, &t->ph) != PAM_SUCCESS ||
                    pam_authenticate(t->ph, 0) != PAM_SUCCESS || pam_open_session(t->ph, 0) != PAM_SUCCESS)
                        _exit(1);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "opener failed: %d", status);
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("has ended (opener pid");
}
END_TEST

START_TEST(test_require_session_outside) {
        /* A process of another audit session (e.g. a user's ssh login)
         * cannot use the rstream session's record. */
        _cleanup_free_ char *bundle = valid_bundle();
        txn *t;

        if (!new_audit_session(4247))
                return;
        t = open_session(bundle);
        ck_assert(new_audit_session(65534));
        log_reset();
        require("rs-req", "nobody", PAM_AUTH_ERR, PAM_PERM_DENIED);
        ck_assert_log("is not an rstream session");
        txn_end(t);
}
END_TEST

START_TEST(test_shipped_service) {
        _cleanup_free_ char *text = read_file(SRCDIR "/policy/pam.d/webttyd");
        txn *t = txn_start("rs-shipped", "nobody", NULL);
        const char *loginuid = NULL, *rstream = NULL;

        /* Every pam_rstream line of policy/pam.d/webttyd has valid arguments:
         * setcred parses the auth line's, account and session stop only for
         * the missing caller. */
        ck_assert_pam(pam_setcred(t->ph, PAM_ESTABLISH_CRED), PAM_SUCCESS);
        ck_assert_pam(pam_acct_mgmt(t->ph, 0), PAM_AUTH_ERR);
        ck_assert_log("no verified rstream caller in this PAM transaction");
        ck_assert_pam(pam_open_session(t->ph, 0), PAM_SESSION_ERR);
        ck_assert_log("no verified rstream caller to open a session for");
        ck_assert_log_lacks("argument");
        txn_end(t);

        /* pam_loginuid precedes pam_rstream in its session stack. */
        ck_assert_ptr_nonnull(text);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "session", 7) != 0)
                        continue;
                if (!loginuid && strstr(line, "pam_loginuid.so"))
                        loginuid = line;
                if (!rstream && strstr(line, "pam_rstream.so"))
                        rstream = line;
        }
        ck_assert_ptr_nonnull(loginuid);
        ck_assert_ptr_nonnull(rstream);
        ck_assert_msg(loginuid < rstream, "pam_loginuid must come before pam_rstream in the session stack");
}
END_TEST

static bool have_program(const char *name) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "command -v %s >/dev/null 2>&1", name), 0);
        return system(cmd) == 0;
}

START_TEST(test_require_session_real_sudo) {
        /* Real sudo (setuid, real libpam, PAM_RUSER as sudo sets it) with
         * `account required pam_rstream.so require_session sudo`, in a
         * private mount namespace (tests/unit/pam/sudo-require-session.sh). */
        _cleanup_free_ char *out = NULL;

        if (geteuid() != 0 || !have_program("unshare") || !have_program("sudo") ||
            !have_program("setpriv")) {
                fprintf(stdout,
                        "SKIP test_require_session_real_sudo: needs root, unshare, sudo and setpriv\n");
                return;
        }
        out = run_output(SRCDIR "/tests/unit/pam/sudo-require-session.sh " MODULE " 2>&1");
        ck_assert_msg(strstr(out, "RESULT inside-sudo 0\n"), "sudo inside the session failed:\n%s", out);
        ck_assert_msg(strstr(out, "RESULT inside-nosudo 1\n"), "sudo without the policy's sudo:\n%s", out);
        ck_assert_msg(strstr(out, "RESULT outside 1\n"), "sudo outside the session:\n%s", out);
}
END_TEST

START_TEST(test_setcred) {
        txn *t = txn_start("rs", "nobody", NULL);

        ck_assert_pam(pam_setcred(t->ph, PAM_ESTABLISH_CRED), PAM_SUCCESS);
        ck_assert_pam(pam_setcred(t->ph, PAM_DELETE_CRED), PAM_SUCCESS);
        txn_end(t);
}
END_TEST

/* ---- set-up: services, then re-exec under pam_wrapper ------------------------------------ */

static void write_service(const char *svcdir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        if (asprintf(&p, "%s/%s", svcdir, name) < 0)
                abort();
        f = fopen(p, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                perror(p);
                exit(EXIT_FAILURE);
        }
}

static void write_services(const char *dir) {
        _cleanup_free_ char *svc = NULL, *common = NULL, *text = NULL;

        if (asprintf(&svc, "%s/services", dir) < 0 || mkdir(svc, 0700) < 0) {
                perror("services");
                exit(EXIT_FAILURE);
        }
        if (asprintf(&common,
                     "identity=%1$s/identity.json authorized_clients=%1$s/clients.json "
                     "policy=%1$s/policy.yaml "
                     "accounts_db=%1$s/accounts.db registry=%1$s/registry replay=%1$s/replay "
                     "server_id=" SERVER_ID " workspace_id=" WORKSPACE_ID " project_id=" PROJECT_ID,
                     dir) < 0)
                abort();
#define SERVICE(name, fmt, ...)                                                                             \
        do {                                                                                                \
                free(text);                                                                                 \
                if (asprintf(&text, fmt, __VA_ARGS__) < 0)                                                  \
                        abort();                                                                            \
                write_service(svc, name, text);                                                             \
        } while (0)
        SERVICE("rs",
                "auth required " MODULE " %1$s\n"
                "account required " MODULE " %1$s\n"
                "session required " MODULE " %1$s debug\n",
                common);
        SERVICE("rs-unauth",
                "auth required " MODULE " %1$s allow_unauthenticated\n"
                "account required " MODULE " %1$s\n",
                common);
        SERVICE("rs-noid", "auth required " MODULE " policy=%1$s/policy.yaml replay=%1$s/replay\n", dir);
        SERVICE("rs-acct",
                "account required " MODULE " %1$s\n"
                "session required " MODULE " %1$s\n",
                common);
        SERVICE("rs-req",
                "auth required " MODULE " require_session registry=%1$s/registry policy=%1$s/policy.yaml\n"
                "account required " MODULE
                " require_session registry=%1$s/registry policy=%1$s/policy.yaml\n",
                dir);
        SERVICE("rs-req-sudo",
                "auth required " MODULE
                " require_session sudo registry=%1$s/registry policy=%1$s/policy.yaml\n"
                "account required " MODULE
                " require_session sudo registry=%1$s/registry policy=%1$s/policy.yaml\n",
                dir);
        SERVICE("rs-req-callers-ok",
                "auth required " MODULE
                " require_session callers=bob,alice registry=%1$s/registry policy=%1$s/policy.yaml\n"
                "account required " MODULE
                " require_session callers=bob,alice registry=%1$s/registry policy=%1$s/policy.yaml\n",
                dir);
        SERVICE("rs-req-callers-no",
                "auth required " MODULE
                " require_session callers=bob,carol registry=%1$s/registry policy=%1$s/policy.yaml\n"
                "account required " MODULE
                " require_session callers=bob,carol registry=%1$s/registry policy=%1$s/policy.yaml\n",
                dir);
        {
                /* The pam_rstream lines of the service file we ship, with the
                 * module by absolute path (the other modules are the host's). */
                _cleanup_free_ char *shipped = NULL, *out = NULL;
                size_t out_len = 0;
                FILE *o = open_memstream(&out, &out_len);
                FILE *f = fopen(SRCDIR "/policy/pam.d/webttyd", "re");
                char *line = NULL;
                size_t n = 0;

                if (!f || !o) {
                        perror(SRCDIR "/policy/pam.d/webttyd");
                        exit(EXIT_FAILURE);
                }
                while (getline(&line, &n, f) > 0) {
                        char *m = strstr(line, " pam_rstream.so");

                        if (line[0] == '#' || !m)
                                continue;
                        fprintf(o, "%.*s " MODULE "%s", (int) (m - line), line,
                                m + strlen(" pam_rstream.so"));
                }
                free(line);
                fclose(f);
                fclose(o);
                write_service(svc, "rs-shipped", out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_args); i++) {
                char name[32];

                snprintf(name, sizeof(name), "rs-bad-%zu", i);
                if (bad_args[i].session_only)
                        SERVICE(name, "session required " MODULE " %s\n", bad_args[i].args);
                else
                        SERVICE(name,
                                "auth required " MODULE " %1$s\n"
                                "account required " MODULE " %1$s\n"
                                "session required " MODULE " %1$s\n",
                                bad_args[i].args);
        }
#undef SERVICE
}

static Suite *pam_suite(void) {
        Suite *s = suite_create("pam_rstream");
        TCase *tc;

        tc = tcase_create("build");
        tcase_add_test(tc, test_elf_needed);
        suite_add_tcase(s, tc);

        tc = tcase_create("args");
        tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
        tcase_add_loop_test(tc, test_bad_arguments, 0, ELEMENTSOF(bad_args));
        suite_add_tcase(s, tc);

        tc = tcase_create("auth");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
        tcase_add_test(tc, test_auth_valid);
        tcase_add_test(tc, test_auth_no_grant);
        tcase_add_test(tc, test_auth_libpamtest);
        tcase_add_test(tc, test_auth_expired);
        tcase_add_test(tc, test_auth_future);
        tcase_add_test(tc, test_auth_bad_signature);
        tcase_add_test(tc, test_auth_wrong_server_id);
        tcase_add_test(tc, test_auth_tampered_nonce);
        tcase_add_test(tc, test_auth_threads);
        tcase_add_test(tc, test_auth_unknown_key);
        tcase_add_test(tc, test_auth_replay);
        tcase_add_test(tc, test_replay_prune);
        tcase_add_test(tc, test_replay_dir_insecure);
        tcase_add_test(tc, test_replay_dir_symlink);
        tcase_add_test(tc, test_auth_policy_deny);
        tcase_add_test(tc, test_auth_policy_default_deny);
        tcase_add_test(tc, test_auth_policy_malformed);
        tcase_add_test(tc, test_auth_policy_missing);
        tcase_add_test(tc, test_auth_identity_missing);
        tcase_add_test(tc, test_auth_identity_readable);
        tcase_add_test(tc, test_auth_clients_missing);
        tcase_add_test(tc, test_auth_clients_malformed);
        tcase_add_test(tc, test_auth_no_identity_arg);
        tcase_add_test(tc, test_auth_template);
        tcase_add_test(tc, test_auth_template_conflict);
        tcase_add_test(tc, test_auth_user_mismatch);
        tcase_add_test(tc, test_auth_user_unknown);
        tcase_add_test(tc, test_auth_requested_user);
        tcase_add_test(tc, test_auth_server_labels);
        tcase_add_test(tc, test_auth_unauthenticated);
        tcase_add_test(tc, test_auth_conversation);
        tcase_add_test(tc, test_setcred);
        tcase_add_test(tc, test_shipped_service);
        suite_add_tcase(s, tc);

        tc = tcase_create("account");
        tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
        tcase_add_test(tc, test_account_without_auth);
        tcase_add_test(tc, test_account_policy_changed);
        tcase_add_test(tc, test_account_user_changed);
        suite_add_tcase(s, tc);

        tc = tcase_create("session");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
        tcase_add_test(tc, test_session_needs_audit_session);
        tcase_add_test(tc, test_session_env_and_registry);
        tcase_add_test(tc, test_session_prunes_stale);
        tcase_add_test(tc, test_session_registry_insecure);
        tcase_add_test(tc, test_session_close_foreign);
        tcase_add_test(tc, test_require_session);
        tcase_add_test(tc, test_require_session_opener_gone);
        tcase_add_test(tc, test_require_session_outside);
        tcase_add_test(tc, test_require_session_real_sudo);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv) {
        SRunner *sr;
        int failed;

        (void) argc;
#if defined(__SANITIZE_ADDRESS__)
        /* pam_wrapper loads libpam with RTLD_DEEPBIND, which AddressSanitizer
         * refuses; the plain build (and valgrind) run these tests. */
        fprintf(stderr,
                "SKIP test-pam-rstream: pam_wrapper's RTLD_DEEPBIND cannot run under AddressSanitizer\n");
        return 77;
#endif
        if (!getenv(ENV_DIR)) {
                /* First run: scratch dir and services, then again under
                 * pam_wrapper (it copies the services when it loads). */
                const char *base = getenv("TMPDIR");
                char *dir = NULL;

                if (asprintf(&dir, "%s/pam-rstream-XXXXXX", base && *base ? base : "/tmp") < 0 ||
                    !mkdtemp(dir)) {
                        perror("mkdtemp");
                        return EXIT_FAILURE;
                }
                write_services(dir);
                {
                        _cleanup_free_ char *svc = NULL;

                        if (asprintf(&svc, "%s/services", dir) < 0)
                                return EXIT_FAILURE;
                        setenv("PAM_WRAPPER_SERVICE_DIR", svc, 1);
                }
                setenv(ENV_DIR, dir, 1);
                setenv("PAM_WRAPPER", "1", 1);
                setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1); /* pam_syslog lines on stderr */
                setenv("LD_PRELOAD", "libpam_wrapper.so", 1);
                /* argv[0] when it is a path, so valgrind --trace-children can
                 * follow the exec; /proc/self/exe otherwise. */
                execv(argv[0] && strchr(argv[0], '/') ? argv[0] : "/proc/self/exe", argv);
                perror("execv");
                return EXIT_FAILURE;
        }
        T = getenv(ENV_DIR);
        if (sodium_init() < 0)
                return EXIT_FAILURE;

        sr = srunner_create(pam_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        rm_rf(T);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
