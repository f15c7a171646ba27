/* pam_rstream.so internals: the parsed module arguments, the verified
 * caller kept between the PAM phases, the session registry, the replay
 * directory and the proof check. Nothing here is global: every function
 * works on what its caller hands it, so concurrent PAM handles in one
 * process never share state.
 *
 * Every int function returns 0 or a negative errno; functions that can fail
 * for a reason an operator must see put a one-line text into *ret_error
 * (errmsg.h: NULL or malloc'd on entry, replaced on failure). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <security/pam_modules.h>

#include "loginproto.h"
#include "macro.h"
#include "policy.h"
#include "sigkey.h"

#define RSTREAM_REGISTRY_DEFAULT "/run/rstream/webtty/sessions"
#define RSTREAM_REPLAY_DEFAULT "/run/rstream/webtty/replay"
#define RSTREAM_DATA_NAME "pam_rstream.caller"
#define RSTREAM_AUDIT_UNSET UINT32_MAX /* /proc/self/{sessionid,loginuid} before pam_loginuid */

/* ---- arguments (args.c) --------------------------------------------------- */

typedef enum rstream_phase {
        RSTREAM_PHASE_AUTH,
        RSTREAM_PHASE_SETCRED,
        RSTREAM_PHASE_ACCOUNT,
        RSTREAM_PHASE_SESSION,
} rstream_phase;

/* Strings point into argv, which libpam keeps for the duration of the call. */
typedef struct rstream_args {
        const char *identity;           /* server endpoint identity JSON (public halves used) */
        const char *authorized_clients; /* authorized_clients/<store>.json */
        const char *policy;             /* default POLICY_DEFAULT_PATH */
        const char *accounts_db;        /* default ACCOUNTSDB_DEFAULT_PATH */
        const char *registry;           /* default RSTREAM_REGISTRY_DEFAULT */
        const char *replay;             /* default RSTREAM_REPLAY_DEFAULT */
        const char *server_id, *workspace_id, *project_id; /* transcript values, NULL = "" */
        const char *callers;                               /* "a,b" or NULL */
        bool require_session, sudo, allow_unauthenticated, debug;
} rstream_args;

/* Parses every argument in one place; logs each problem with pam_syslog
 * (LOG_ERR) and returns -EINVAL on the first. */
int rstream_args_parse(pam_handle_t *pamh, rstream_phase phase, int argc, const char **argv,
                       rstream_args *ret);
/* Whether name is one of the comma-separated entries of list. */
bool rstream_callers_contains(const char *list, const char *name);
/* The error a bad module configuration returns in each phase. */
int rstream_phase_service_err(rstream_phase phase);

/* ---- the verified caller kept in pam_set_data (pam_rstream.c) ------------- */

typedef struct rstream_caller {
        bool authenticated; /* false: an unauthenticated session allowed by policy */
        char *client_name;  /* authorized-clients entry name ("" when unauthenticated) */
        uint8_t key_id[SIGKEY_ID_LEN];
        char key_id_hex[2 * SIGKEY_ID_LEN + 1]; /* "" when unauthenticated */
        char *principal_id, *device_id;         /* "" when absent */
        char *session_id;                       /* the ServerHello session id */
        /* The request, kept to re-run the policy in later phases. */
        char *requested_user, *default_user, *server_labels; /* "" when none */
        policy_decision decision;                            /* the latest allowing decision */
} rstream_caller;

rstream_caller *rstream_caller_free(rstream_caller *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(rstream_caller, rstream_caller_free);

/* policy_decide() for c with a freshly loaded policy file. -errno (with
 * the loader's "FILE:LINE:COLUMN: message") when the policy cannot be read. */
int rstream_decide(const char *policy_path, const rstream_caller *c, policy_decision *ret, char **ret_error);

/* ---- small helpers (util.c) ----------------------------------------------- */

/* s with every byte outside printable ASCII replaced by '?', cut to
 * out_size - 1 bytes; NULL is "-". For log lines with peer-supplied text. */
const char *rstream_clean(const char *s, char *out, size_t out_size);
void rstream_hex(const uint8_t *b, size_t n, char *out);
/* Opens dir (O_DIRECTORY|O_NOFOLLOW) after creating it and its missing
 * parents with mode 0700 when create is set, and refuses a directory owned
 * by anyone but root or the effective uid, or writable by group or others:
 *   "<what> <dir> is owned by uid <n>, not by root"
 *   "<what> <dir> must not be writable by group or others"
 * -ENOENT when missing and !create. */
int rstream_open_private_dir(const char *dir, const char *what, bool create, int *ret_fd, char **ret_error);
/* A decimal u32 file such as /proc/self/sessionid. */
int rstream_read_u32_file(const char *path, uint32_t *ret);
/* Field 22 of /proc/<pid>/stat (start time in clock ticks after boot);
 * -ESRCH when the process does not exist. */
int rstream_proc_start_time(pid_t pid, uint64_t *ret);

/* ---- replay directory (replay.c) ------------------------------------------ */

/* Max entries looked at / removed by the opportunistic prune of one call. */
#define RSTREAM_REPLAY_SCAN_MAX 1024
#define RSTREAM_REPLAY_PRUNE_MAX 128

/* Records hash in dir as "<64 hex>" (O_CREAT|O_EXCL, content forget_after);
 * -EEXIST when the proof was used before. Prunes expired entries first. */
int rstream_replay_record(const char *dir, const uint8_t hash[32], int64_t forget_after, int64_t now,
                          char **ret_error);

/* ---- session registry (registry.c) ---------------------------------------- */

typedef struct rstream_record {
        uint32_t audit_session, loginuid;
        char *caller, *key_id, *principal_id, *device_id; /* key_id: hex, "" when unauthenticated */
        char *user;
        uid_t uid;
        bool sudo;
        char *rule;
        char *session_id, *server_id;
        char *requested_user, *default_user, *server_labels;
        int64_t opener_pid;
        uint64_t opener_start_time;
        char *opened_at; /* RFC 3339, for people */
} rstream_record;

void rstream_record_done(rstream_record *r);
/* Writes <dir>/<audit_session> atomically (root 0600 in a checked 0700 dir). */
int rstream_registry_write(const char *dir, const rstream_record *r, char **ret_error);
/* Reads and strictly decodes <dir>/<audit_session>; -ENOENT when there is none. */
int rstream_registry_read(const char *dir, uint32_t audit_session, rstream_record *ret, char **ret_error);
/* Removes <dir>/<audit_session> when it names this opener (pid and start
 * time); -ENOENT when missing, -EPERM when it belongs to another opener. */
int rstream_registry_remove(const char *dir, uint32_t audit_session, int64_t pid, uint64_t start_time,
                            char **ret_error);
/* Max records looked at / removed by one prune. */
#define RSTREAM_REGISTRY_SCAN_MAX 256
#define RSTREAM_REGISTRY_PRUNE_MAX 32
/* Removes records whose opener is gone (webttyd-login killed before it
 * could close the session), except keep's; bounded per call. Returns how
 * many went. */
unsigned rstream_registry_prune(const char *dir, uint32_t keep);

/* ---- the proof check (verify.c) ------------------------------------------- */

typedef enum rstream_verify_fail {
        RSTREAM_VERIFY_OK,
        RSTREAM_VERIFY_UNAVAIL, /* identity or authorized clients could not be read */
        RSTREAM_VERIFY_REFUSED, /* the proof is invalid, expired, unauthorized, replayed */
        RSTREAM_VERIFY_NOMEM,
} rstream_verify_fail;

/* Re-verifies the ClientProof in p against the server identity and the
 * authorized clients (both read now, as root) and records it in the replay
 * directory. On success fills the caller fields of c (client_name, key_id,
 * key_id_hex, principal_id, device_id). */
int rstream_verify(const rstream_args *a, const loginproto_proof *p, rstream_caller *c,
                   rstream_verify_fail *ret_fail, char **ret_error);
