/* known_servers.json, authorized_clients/<store>.json and the static list of
 * authorized client keys (see truststore.h). */
#include "truststore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "b64u.h"
#include "errmsg.h"
#include "jsondoc.h"
#include "safefile.h"
#include "trimspace.h"

#define TRUST_VERSION 1
#define KNOWN_SERVERS_LABEL "known WebTTY server keys file"
#define AUTHORIZED_CLIENTS_LABEL "authorized WebTTY client keys file"
#define KNOWN_SERVERS_TMP_PREFIX ".webtty-known-servers-"
#define AUTHORIZED_CLIENTS_TMP_PREFIX ".webtty-authorized-clients-"

static int oom(char **ret_error) {
        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
}

static bool blank(const char *s) {
        size_t off, len;

        trim_space(s, strlen(s), &off, &len);
        return len == 0;
}

static char *trimmed(const char *s) {
        size_t off, len;

        trim_space(s, strlen(s), &off, &len);
        return strndup(s + off, len);
}

static char *quoted(const char *s) {
        return jsondoc_quote(s);
}

static int append_object(json_object *arr, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(arr, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int rfc3339_now(time_t now, char **ret) {
        char buf[64];
        struct tm tm;

        if (!gmtime_r(&now, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* Array elements must be objects (or null, the zero entry). */
static int check_entry(json_object *e, const char *go_field, const char *go_type,
                       const jsondoc_field *fields, size_t n, const char *prefix, char **ret_error) {
        if (e && !json_object_is_type(e, json_type_object))
                return errmsg_set(ret_error, -EBADMSG,
                                  "%s: json: cannot unmarshal %s into Go struct field %s of type %s", prefix,
                                  json_object_is_type(e, json_type_array)     ? "array"
                                  : json_object_is_type(e, json_type_string)  ? "string"
                                  : json_object_is_type(e, json_type_boolean) ? "bool"
                                                                              : "number",
                                  go_field, go_type);
        return jsondoc_check_object(e, go_type, go_field, fields, n, prefix, ret_error);
}

/* Stable insertion sort by name, byte order. */
#define SORT_BY_NAME(type, a, n)                                                                            \
        do {                                                                                                \
                for (size_t _i = 1; _i < (n); _i++) {                                                       \
                        type _t = (a)[_i];                                                                  \
                        size_t _j = _i;                                                                     \
                        while (_j > 0 && strcmp((a)[_j - 1].name, _t.name) > 0) {                           \
                                (a)[_j] = (a)[_j - 1];                                                      \
                                _j--;                                                                       \
                        }                                                                                   \
                        (a)[_j] = _t;                                                                       \
                }                                                                                           \
        } while (0)

/* ---- the two JSON stores share loading and read-modify-write ----------- */

/* {"version": 1, "crypto_suite": suite, key: [entry(doc, 0), ...]}, as both
 * stores are written (two-space indent, one trailing newline). */
typedef json_object *(*entry_json_fn)(const void *doc, size_t i);

static int format_document(const char *suite, const char *key, const void *doc, size_t n,
                           entry_json_fn entry, char **ret, size_t *ret_len) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array();
        int r;

        if (!o) {
                json_object_put(arr);
                return -ENOMEM;
        }
        r = jsondoc_add_int(o, "version", TRUST_VERSION);
        if (r >= 0)
                r = jsondoc_add_string(o, "crypto_suite", suite);
        if (r >= 0)
                r = jsondoc_add(o, key, arr);
        else
                json_object_put(arr);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_object(arr, entry(doc, i));
        if (r < 0)
                return r;
        return jsondoc_format(o, false, ret, ret_len);
}

typedef struct store_type {
        const char *label;      /* names the file in safefile's refusals */
        const char *tmp_prefix; /* temp file pattern (host spec 0.2) */
        const char *what;       /* "known WebTTY server keys", for encode errors */
        size_t size;            /* sizeof the document struct (an empty one is zeroed) */
        int (*parse)(const void *data, size_t len, const char *path, void **ret, char **ret_error);
        int (*format)(const void *doc, char **ret, size_t *ret_len);
        void (*free)(void *doc);
        void (*sort)(void *doc);
} store_type;

typedef int (*store_update_fn)(void *doc, void *userdata, char **ret_error);

static int store_load(const store_type *t, const char *path, void **ret, char **ret_error) {
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        r = safefile_read(path, t->label, &data, &len, ret_error);
        if (r < 0)
                return r;
        r = t->parse(data, len, path, ret, ret_error);
        safefile_buffer_free(data, len);
        return r;
}

/* Under the file's lock: read (a missing file is an empty store), apply fn,
 * sort by name, write back through the safe writer. */
static int store_update(const store_type *t, const char *path, store_update_fn fn, void *userdata,
                        char **ret_error) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        _cleanup_free_ char *text = NULL;
        void *doc = NULL;
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        r = safefile_lock_acquire(path, &l, ret_error);
        if (r < 0)
                return r;
        r = safefile_lock_read(l, t->label, &data, &len, ret_error);
        if (r >= 0) {
                r = t->parse(data, len, path, &doc, ret_error);
                safefile_buffer_free(data, len);
        } else if (r == -ENOENT)
                r = (doc = calloc(1, t->size)) ? 0 : oom(ret_error);
        if (r >= 0)
                r = fn(doc, userdata, ret_error);
        if (r >= 0) {
                t->sort(doc);
                r = t->format(doc, &text, &len);
                if (r < 0)
                        r = errmsg_set(ret_error, r, "encode %s: %s", t->what, strerror(-r));
        }
        if (r >= 0)
                r = safefile_lock_replace(l, t->tmp_prefix, text, len, ret_error);
        if (doc)
                t->free(doc);
        return r;
}

/* ---- known servers ------------------------------------------------------ */

void known_server_clear(known_server *e) {
        if (!e)
                return;
        free(e->name);
        free(e->client_identity);
        free(e->created_at);
        *e = (known_server){};
}

known_servers *known_servers_free(known_servers *ks) {
        if (!ks)
                return NULL;
        for (size_t i = 0; i < ks->n; i++)
                known_server_clear(&ks->entries[i]);
        free(ks->entries);
        free(ks->crypto_suite);
        free(ks);
        return NULL;
}

static int known_server_copy(const known_server *src, known_server *dst) {
        *dst = (known_server){.key = src->key};
        dst->name = strdup(src->name);
        dst->client_identity = strdup(src->client_identity);
        dst->created_at = strdup(src->created_at);
        if (!dst->name || !dst->client_identity || !dst->created_at) {
                known_server_clear(dst);
                return -ENOMEM;
        }
        return 0;
}

static const jsondoc_field known_servers_fields[] = {
        {"version", JSONDOC_INT, "int"},
        {"crypto_suite", JSONDOC_STRING, "string"},
        {"known_servers", JSONDOC_ARRAY, "[]webtty.KnownServerKeyEntry"},
};

static const jsondoc_field known_server_fields[] = {
        {"name", JSONDOC_STRING, "string"},
        {"key_id", JSONDOC_STRING, "string"},
        {"public_key", JSONDOC_STRING, "string"},
        {"signing_key_id", JSONDOC_STRING, "string"},
        {"signing_public_key", JSONDOC_STRING, "string"},
        {"client_identity", JSONDOC_STRING, "string"},
        {"created_at", JSONDOC_STRING, "string"},
};

/* Go knownServerKeyFromEntry: the name and encryption half. */
static int known_server_key_from_entry(json_object *e, endpoint_public *ret, char **ret_error) {
        _cleanup_free_ uint8_t *pub = NULL;
        uint8_t id[ENCKEY_ID_LEN], want[ENCKEY_ID_LEN];
        size_t pub_len;
        int r;

        if (blank(jsondoc_get_string(e, "name")))
                return errmsg_set(ret_error, -EINVAL, "known WebTTY server name is required");
        r = keymat_decode(jsondoc_get_string(e, "public_key"), 0, "known WebTTY server public key", false,
                          &pub, &pub_len, ret_error);
        if (r < 0)
                return r;
        if (blank(jsondoc_get_string(e, "key_id")))
                return errmsg_set(ret_error, -EINVAL, "known WebTTY server key id is required");
        r = keymat_decode_exact(jsondoc_get_string(e, "key_id"), id, ENCKEY_ID_LEN,
                                "known WebTTY server key id", ret_error);
        if (r < 0)
                return r;
        enckey_id(pub, pub_len, want);
        if (memcmp(id, want, ENCKEY_ID_LEN) != 0)
                return errmsg_set(ret_error, -EINVAL,
                                  "known WebTTY server key id does not match public key");
        return endpoint_public_from_encryption_key(pub, pub_len, ret, ret_error);
}

/* Go inferKnownServerKeysCryptoSuite: *suite 0 when there are no entries. */
static int infer_suite(json_object *arr, enckey_suite *suite, bool *mixed, char **ret_error) {
        size_t n = arr ? json_object_array_length(arr) : 0;

        *suite = 0;
        *mixed = false;
        for (size_t i = 0; i < n; i++) {
                endpoint_public p;
                int r;

                r = known_server_key_from_entry(json_object_array_get_idx(arr, i), &p, ret_error);
                if (r < 0)
                        return r;
                if (*suite == 0)
                        *suite = p.suite;
                else if (p.suite != *suite) {
                        *mixed = true;
                        return 0;
                }
        }
        return 0;
}

/* Go validateKnownServerKeysCryptoSuite (the cause, unwrapped). */
static int validate_suite(const char *marker, json_object *arr, char **ret_error) {
        _cleanup_free_ char *declared = trimmed(marker);
        enckey_suite inferred, suite;
        bool mixed;
        int r;

        if (!declared)
                return oom(ret_error);
        r = infer_suite(arr, &inferred, &mixed, ret_error);
        if (r < 0)
                return r;
        if (strcmp(declared, TRUST_SUITE_MIXED) == 0)
                return 0;
        if (strcmp(declared, TRUST_SUITE_X25519) == 0)
                suite = ENCKEY_SUITE_X25519;
        else if (strcmp(declared, TRUST_SUITE_P256) == 0)
                suite = ENCKEY_SUITE_P256;
        else {
                _cleanup_free_ char *q = quoted(declared);

                return errmsg_set(ret_error, -EINVAL, "unsupported WebTTY E2E identity crypto suite %s",
                                  q ? q : "\"\"");
        }
        if (mixed)
                return errmsg_set(
                        ret_error, -EINVAL,
                        "mixed known WebTTY server key suites require the mixed crypto suite marker");
        if (inferred != 0 && inferred != suite)
                return errmsg_set(ret_error, -EINVAL,
                                  "known WebTTY server key suite does not match the file crypto suite");
        return 0;
}

static int known_server_from_entry(json_object *e, known_server *ret, char **ret_error) {
        const char *sid = jsondoc_get_string(e, "signing_key_id"),
                   *spub = jsondoc_get_string(e, "signing_public_key");
        known_server k = {};
        int r;

        r = known_server_key_from_entry(e, &k.key, ret_error);
        if (r < 0)
                return r;
        if (!blank(sid) || !blank(spub)) {
                if (blank(sid) || blank(spub))
                        return errmsg_set(
                                ret_error, -EINVAL,
                                "known WebTTY server signing key id and public key must be set together");
                r = endpoint_public_set_signing(&k.key, sid, spub, "known WebTTY server", ret_error);
                if (r < 0)
                        return r;
        }
        k.name = strdup(jsondoc_get_string(e, "name"));
        k.client_identity = strdup(jsondoc_get_string(e, "client_identity"));
        k.created_at = strdup(jsondoc_get_string(e, "created_at"));
        if (!k.name || !k.client_identity || !k.created_at) {
                known_server_clear(&k);
                return oom(ret_error);
        }
        *ret = k;
        return 0;
}

int known_servers_parse(const void *data, size_t len, const char *path, known_servers **ret,
                        char **ret_error) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *prefix = NULL;
        json_object *arr;
        size_t n;
        int64_t version;
        int r;

        if (asprintf(&prefix, "decode known WebTTY server keys %s", path) < 0) {
                prefix = NULL;
                return oom(ret_error);
        }
        r = jsondoc_parse(data, len, prefix, &doc, ret_error);
        if (r < 0)
                return r;
        r = jsondoc_check_object(doc, "webtty.KnownServerKeysFile", "KnownServerKeysFile",
                                 known_servers_fields, ELEMENTSOF(known_servers_fields), prefix, ret_error);
        if (r < 0)
                return r;
        arr = jsondoc_get_array(doc, "known_servers");
        n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
                r = check_entry(json_object_array_get_idx(arr, i), "KnownServerKeysFile.known_servers",
                                "webtty.KnownServerKeyEntry", known_server_fields,
                                ELEMENTSOF(known_server_fields), prefix, ret_error);
                if (r < 0)
                        return r;
        }
        version = jsondoc_get_int(doc, "version");
        if (version != TRUST_VERSION)
                return errmsg_set(ret_error, -EINVAL, "unsupported known WebTTY server keys version %lld",
                                  (long long) version);
        r = validate_suite(jsondoc_get_string(doc, "crypto_suite"), arr, ret_error);
        if (r < 0) {
                _cleanup_free_ char *q = quoted(jsondoc_get_string(doc, "crypto_suite"));

                return errmsg_prefix(ret_error, r, "unsupported known WebTTY server keys crypto suite %s",
                                     q ? q : "\"\"");
        }

        ks = calloc(1, sizeof(*ks));
        if (!ks)
                return oom(ret_error);
        ks->crypto_suite = strdup(jsondoc_get_string(doc, "crypto_suite"));
        ks->entries = calloc(n ? n : 1, sizeof(known_server));
        if (!ks->crypto_suite || !ks->entries)
                return oom(ret_error);
        for (size_t i = 0; i < n; i++) {
                r = known_server_from_entry(json_object_array_get_idx(arr, i), &ks->entries[i], ret_error);
                if (r < 0)
                        return errmsg_prefix(ret_error, r, "decode known WebTTY server identity %zu", i);
                ks->n++;
        }
        *ret = TAKE_PTR(ks);
        return 0;
}

static const char *known_servers_marker(const known_servers *ks) {
        enckey_suite suite = 0;

        for (size_t i = 0; i < ks->n; i++) {
                if (suite == 0)
                        suite = ks->entries[i].key.suite;
                else if (ks->entries[i].key.suite != suite)
                        return TRUST_SUITE_MIXED;
        }
        if (suite == ENCKEY_SUITE_X25519)
                return TRUST_SUITE_X25519;
        if (suite == ENCKEY_SUITE_P256)
                return TRUST_SUITE_P256;
        if (ks->crypto_suite && !blank(ks->crypto_suite))
                return ks->crypto_suite;
        return TRUST_SUITE_X25519;
}

static json_object *known_server_json(const known_server *e) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        if (!o)
                return NULL;
        r = jsondoc_add_string(o, "name", e->name);
        if (r >= 0)
                r = jsondoc_add_b64(o, "key_id", e->key.enc_id, ENCKEY_ID_LEN);
        if (r >= 0)
                r = jsondoc_add_b64(o, "public_key", e->key.enc_pub, e->key.enc_pub_len);
        if (r >= 0 && e->key.has_signing) {
                r = jsondoc_add_b64(o, "signing_key_id", e->key.sig_id, SIGKEY_ID_LEN);
                if (r >= 0)
                        r = jsondoc_add_b64(o, "signing_public_key", e->key.sig_spki, SIGKEY_SPKI_LEN);
        }
        if (r >= 0 && e->client_identity && *e->client_identity)
                r = jsondoc_add_string(o, "client_identity", e->client_identity);
        if (r >= 0 && e->created_at && *e->created_at)
                r = jsondoc_add_string(o, "created_at", e->created_at);
        return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *ks_entry_json(const void *doc, size_t i) {
        return known_server_json(&((const known_servers *) doc)->entries[i]);
}

int known_servers_format(const known_servers *ks, char **ret, size_t *ret_len) {
        return format_document(known_servers_marker(ks), "known_servers", ks, ks->n, ks_entry_json, ret,
                               ret_len);
}

/* The generic store operations (store_load, store_update) for this document. */
static int ks_parse(const void *data, size_t len, const char *path, void **ret, char **ret_error) {
        return known_servers_parse(data, len, path, (known_servers **) ret, ret_error);
}
static int ks_format(const void *doc, char **ret, size_t *ret_len) {
        return known_servers_format(doc, ret, ret_len);
}
static void ks_free(void *doc) {
        known_servers_free(doc);
}
static void ks_sort(void *doc) {
        known_servers *ks = doc;
        SORT_BY_NAME(known_server, ks->entries, ks->n);
}
static const store_type known_servers_store = {
        .label = KNOWN_SERVERS_LABEL,
        .tmp_prefix = KNOWN_SERVERS_TMP_PREFIX,
        .what = "known WebTTY server keys",
        .size = sizeof(known_servers),
        .parse = ks_parse,
        .format = ks_format,
        .free = ks_free,
        .sort = ks_sort,
};

int known_servers_load(const char *path, known_servers **ret, char **ret_error) {
        return store_load(&known_servers_store, path, (void **) ret, ret_error);
}

/* Read-modify-write under the lock (Go UpdateKnownServerKeysFile). */
static int known_servers_update(const char *path, store_update_fn fn, void *userdata, char **ret_error) {
        return store_update(&known_servers_store, path, fn, userdata, ret_error);
}

typedef struct known_server_change {
        const char *name;
        const endpoint_public *key;
        const char *client_identity;
        time_t now;
        known_server *ret_entry;
} known_server_change;

static int do_add_known_server(void *doc, void *userdata, char **ret_error) {
        known_servers *ks = doc;
        known_server_change *c = userdata;
        known_server e = {.key = *c->key};
        size_t i;
        int r;

        e.name = strdup(c->name);
        e.client_identity = strdup(c->client_identity ? c->client_identity : "");
        if (!e.name || !e.client_identity || rfc3339_now(c->now, &e.created_at) < 0) {
                known_server_clear(&e);
                return oom(ret_error);
        }
        for (i = 0; i < ks->n; i++)
                if (strcmp(ks->entries[i].name, e.name) == 0)
                        break;
        if (i < ks->n) {
                if (!*e.client_identity) {
                        free(e.client_identity);
                        e.client_identity = TAKE_PTR(ks->entries[i].client_identity);
                }
                known_server_clear(&ks->entries[i]);
                ks->entries[i] = e;
        } else {
                known_server *n = reallocarray(ks->entries, ks->n + 1, sizeof(known_server));

                if (!n) {
                        known_server_clear(&e);
                        return oom(ret_error);
                }
                ks->entries = n;
                ks->entries[ks->n++] = e;
        }
        if (c->ret_entry) {
                r = known_server_copy(&ks->entries[i], c->ret_entry);
                if (r < 0)
                        return oom(ret_error);
        }
        return 0;
}

int known_servers_add(const char *path, const char *name, const endpoint_public *key,
                      const char *client_identity, time_t now, known_server *ret_entry, char **ret_error) {
        _cleanup_free_ char *n = trimmed(name);
        _cleanup_free_ char *ci = trimmed(client_identity ? client_identity : "");
        known_server_change c = {.key = key, .now = now, .ret_entry = ret_entry};

        if (!n || !ci)
                return oom(ret_error);
        if (!*n)
                return errmsg_set(ret_error, -EINVAL, "known WebTTY server name is required");
        c.name = n;
        c.client_identity = ci;
        return known_servers_update(path, do_add_known_server, &c, ret_error);
}

static int not_found(char **ret_error, const char *what, const char *name) {
        _cleanup_free_ char *q = quoted(name);

        return errmsg_set(ret_error, -ENOENT, "%s %s was not found", what, q ? q : "\"\"");
}

static int do_remove_known_server(void *doc, void *userdata, char **ret_error) {
        known_servers *ks = doc;
        const char *name = userdata;
        size_t w = 0;

        for (size_t i = 0; i < ks->n; i++) {
                if (strcmp(ks->entries[i].name, name) == 0) {
                        known_server_clear(&ks->entries[i]);
                        continue;
                }
                ks->entries[w++] = ks->entries[i];
        }
        if (w == ks->n)
                return not_found(ret_error, "known WebTTY server", name);
        ks->n = w;
        return 0;
}

int known_servers_remove(const char *path, const char *name, char **ret_error) {
        _cleanup_free_ char *n = trimmed(name);

        if (!n)
                return oom(ret_error);
        return known_servers_update(path, do_remove_known_server, n, ret_error);
}

static int do_set_identity(void *doc, void *userdata, char **ret_error) {
        known_servers *ks = doc;
        known_server_change *c = userdata;

        for (size_t i = 0; i < ks->n; i++) {
                char *ci;

                if (strcmp(ks->entries[i].name, c->name) != 0)
                        continue;
                ci = strdup(c->client_identity);
                if (!ci)
                        return oom(ret_error);
                free(ks->entries[i].client_identity);
                ks->entries[i].client_identity = ci;
                if (c->ret_entry && known_server_copy(&ks->entries[i], c->ret_entry) < 0)
                        return oom(ret_error);
                return 0;
        }
        return not_found(ret_error, "known WebTTY server", c->name);
}

int known_servers_set_identity(const char *path, const char *name, const char *client_identity,
                               known_server *ret_entry, char **ret_error) {
        _cleanup_free_ char *n = trimmed(name), *ci = trimmed(client_identity ? client_identity : "");
        known_server_change c = {.ret_entry = ret_entry};

        if (!n || !ci)
                return oom(ret_error);
        if (!*ci)
                return errmsg_set(ret_error, -EINVAL, "--identity is required");
        c.name = n;
        c.client_identity = ci;
        return known_servers_update(path, do_set_identity, &c, ret_error);
}

/* ---- authorized clients ------------------------------------------------- */

void authorized_client_clear(authorized_client *e) {
        if (!e)
                return;
        free(e->name);
        free(e->created_at);
        *e = (authorized_client){};
}

authorized_clients *authorized_clients_free(authorized_clients *ac) {
        if (!ac)
                return NULL;
        for (size_t i = 0; i < ac->n; i++)
                authorized_client_clear(&ac->entries[i]);
        free(ac->entries);
        free(ac);
        return NULL;
}

static int authorized_client_copy(const authorized_client *src, authorized_client *dst) {
        *dst = *src;
        dst->name = strdup(src->name);
        dst->created_at = strdup(src->created_at);
        if (!dst->name || !dst->created_at) {
                authorized_client_clear(dst);
                return -ENOMEM;
        }
        return 0;
}

static const jsondoc_field authorized_clients_fields[] = {
        {"version", JSONDOC_INT, "int"},
        {"crypto_suite", JSONDOC_STRING, "string"},
        {"authorized_clients", JSONDOC_ARRAY, "[]webtty.AuthorizedClientKeyEntry"},
};

static const jsondoc_field authorized_client_fields[] = {
        {"name", JSONDOC_STRING, "string"},
        {"signing_key_id", JSONDOC_STRING, "string"},
        {"signing_public_key", JSONDOC_STRING, "string"},
        {"created_at", JSONDOC_STRING, "string"},
};

/* Go authorizedClientSigningKeyFromEntry. */
static int authorized_client_from_entry(json_object *e, authorized_client *ret, char **ret_error) {
        _cleanup_free_ char *key = NULL;
        authorized_client c = {};
        int r;

        if (blank(jsondoc_get_string(e, "name")))
                return errmsg_set(ret_error, -EINVAL, "authorized WebTTY client name is required");
        if (asprintf(&key, "%s:%s", jsondoc_get_string(e, "signing_key_id"),
                     jsondoc_get_string(e, "signing_public_key")) < 0) {
                key = NULL;
                return oom(ret_error);
        }
        r = authorized_client_key_parse(key, c.id, c.spki, ret_error);
        if (r < 0)
                return r;
        c.name = strdup(jsondoc_get_string(e, "name"));
        c.created_at = strdup(jsondoc_get_string(e, "created_at"));
        if (!c.name || !c.created_at) {
                authorized_client_clear(&c);
                return oom(ret_error);
        }
        *ret = c;
        return 0;
}

int authorized_clients_parse(const void *data, size_t len, const char *path, authorized_clients **ret,
                             char **ret_error) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        _cleanup_free_ char *prefix = NULL;
        json_object *arr;
        const char *suite;
        size_t n;
        int64_t version;
        int r;

        if (asprintf(&prefix, "decode authorized WebTTY client keys %s", path) < 0) {
                prefix = NULL;
                return oom(ret_error);
        }
        r = jsondoc_parse(data, len, prefix, &doc, ret_error);
        if (r < 0)
                return r;
        r = jsondoc_check_object(doc, "webtty.AuthorizedClientKeysFile", "AuthorizedClientKeysFile",
                                 authorized_clients_fields, ELEMENTSOF(authorized_clients_fields), prefix,
                                 ret_error);
        if (r < 0)
                return r;
        arr = jsondoc_get_array(doc, "authorized_clients");
        n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
                r = check_entry(json_object_array_get_idx(arr, i),
                                "AuthorizedClientKeysFile.authorized_clients",
                                "webtty.AuthorizedClientKeyEntry", authorized_client_fields,
                                ELEMENTSOF(authorized_client_fields), prefix, ret_error);
                if (r < 0)
                        return r;
        }
        version = jsondoc_get_int(doc, "version");
        if (version != TRUST_VERSION)
                return errmsg_set(ret_error, -EINVAL,
                                  "unsupported authorized WebTTY client keys version %lld",
                                  (long long) version);
        suite = jsondoc_get_string(doc, "crypto_suite");
        if (strcmp(suite, TRUST_SUITE_X25519) != 0) {
                _cleanup_free_ char *q = quoted(suite);

                return errmsg_set(ret_error, -EINVAL,
                                  "unsupported authorized WebTTY client keys crypto suite %s",
                                  q ? q : "\"\"");
        }

        ac = calloc(1, sizeof(*ac));
        if (!ac)
                return oom(ret_error);
        ac->entries = calloc(n ? n : 1, sizeof(authorized_client));
        if (!ac->entries)
                return oom(ret_error);
        for (size_t i = 0; i < n; i++) {
                r = authorized_client_from_entry(json_object_array_get_idx(arr, i), &ac->entries[i],
                                                 ret_error);
                if (r < 0)
                        return errmsg_prefix(ret_error, r, "decode authorized WebTTY client %zu", i);
                ac->n++;
        }
        *ret = TAKE_PTR(ac);
        return 0;
}

static json_object *authorized_client_json(const authorized_client *e) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        if (!o)
                return NULL;
        r = jsondoc_add_string(o, "name", e->name);
        if (r >= 0)
                r = jsondoc_add_b64(o, "signing_key_id", e->id, SIGKEY_ID_LEN);
        if (r >= 0)
                r = jsondoc_add_b64(o, "signing_public_key", e->spki, SIGKEY_SPKI_LEN);
        if (r >= 0 && e->created_at && *e->created_at)
                r = jsondoc_add_string(o, "created_at", e->created_at);
        return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *ac_entry_json(const void *doc, size_t i) {
        return authorized_client_json(&((const authorized_clients *) doc)->entries[i]);
}

int authorized_clients_format(const authorized_clients *ac, char **ret, size_t *ret_len) {
        return format_document(TRUST_SUITE_X25519, "authorized_clients", ac, ac->n, ac_entry_json, ret,
                               ret_len);
}

static int ac_parse(const void *data, size_t len, const char *path, void **ret, char **ret_error) {
        return authorized_clients_parse(data, len, path, (authorized_clients **) ret, ret_error);
}
static int ac_format(const void *doc, char **ret, size_t *ret_len) {
        return authorized_clients_format(doc, ret, ret_len);
}
static void ac_free(void *doc) {
        authorized_clients_free(doc);
}
static void ac_sort(void *doc) {
        authorized_clients *ac = doc;
        SORT_BY_NAME(authorized_client, ac->entries, ac->n);
}
static const store_type authorized_clients_store = {
        .label = AUTHORIZED_CLIENTS_LABEL,
        .tmp_prefix = AUTHORIZED_CLIENTS_TMP_PREFIX,
        .what = "authorized WebTTY client keys",
        .size = sizeof(authorized_clients),
        .parse = ac_parse,
        .format = ac_format,
        .free = ac_free,
        .sort = ac_sort,
};

int authorized_clients_load(const char *path, authorized_clients **ret, char **ret_error) {
        return store_load(&authorized_clients_store, path, (void **) ret, ret_error);
}

static int authorized_clients_update(const char *path, store_update_fn fn, void *userdata,
                                     char **ret_error) {
        return store_update(&authorized_clients_store, path, fn, userdata, ret_error);
}

typedef struct authorized_client_change {
        authorized_client *entry;
        authorized_client *ret_entry;
} authorized_client_change;

static int do_add_authorized_client(void *doc, void *userdata, char **ret_error) {
        authorized_clients *ac = doc;
        authorized_client_change *c = userdata;
        size_t i;

        for (i = 0; i < ac->n; i++)
                if (strcmp(ac->entries[i].name, c->entry->name) == 0)
                        break;
        if (i < ac->n)
                authorized_client_clear(&ac->entries[i]);
        else {
                authorized_client *n = reallocarray(ac->entries, ac->n + 1, sizeof(authorized_client));

                if (!n)
                        return oom(ret_error);
                ac->entries = n;
                ac->n++;
        }
        ac->entries[i] = *c->entry;
        *c->entry = (authorized_client){};
        if (c->ret_entry && authorized_client_copy(&ac->entries[i], c->ret_entry) < 0)
                return oom(ret_error);
        return 0;
}

int authorized_clients_add(const char *path, const char *name, const char *key, time_t now,
                           authorized_client *ret_entry, char **ret_error) {
        _cleanup_free_ char *n = trimmed(name);
        authorized_client e = {};
        authorized_client_change c = {.entry = &e, .ret_entry = ret_entry};
        int r;

        if (!n)
                return oom(ret_error);
        if (!*n)
                return errmsg_set(ret_error, -EINVAL, "authorized WebTTY client name is required");
        r = authorized_client_key_parse(key, e.id, e.spki, ret_error);
        if (r < 0)
                return r;
        e.name = TAKE_PTR(n);
        if (rfc3339_now(now, &e.created_at) < 0) {
                authorized_client_clear(&e);
                return oom(ret_error);
        }
        r = authorized_clients_update(path, do_add_authorized_client, &c, ret_error);
        authorized_client_clear(&e);
        return r;
}

static int do_remove_authorized_client(void *doc, void *userdata, char **ret_error) {
        authorized_clients *ac = doc;
        const char *name = userdata;
        size_t w = 0;

        for (size_t i = 0; i < ac->n; i++) {
                if (strcmp(ac->entries[i].name, name) == 0) {
                        authorized_client_clear(&ac->entries[i]);
                        continue;
                }
                ac->entries[w++] = ac->entries[i];
        }
        if (w == ac->n)
                return not_found(ret_error, "authorized WebTTY client", name);
        ac->n = w;
        return 0;
}

int authorized_clients_remove(const char *path, const char *name, char **ret_error) {
        _cleanup_free_ char *n = trimmed(name);

        if (!n)
                return oom(ret_error);
        return authorized_clients_update(path, do_remove_authorized_client, n, ret_error);
}

int authorized_client_default_name(const uint8_t id[SIGKEY_ID_LEN], char **ret) {
        _cleanup_free_ char *b = NULL;

        if (b64u_encode(id, SIGKEY_ID_LEN, &b) < 0)
                return -ENOMEM;
        if (asprintf(ret, "client-%.12s", b) < 0)
                return -ENOMEM;
        return 0;
}

int authorized_clients_lookup(const char *path, const uint8_t key_id[SIGKEY_ID_LEN],
                              uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found, char **ret_error) {
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        const authorized_client *hit = NULL;
        int r;

        *found = false;
        r = authorized_clients_load(path, &ac, ret_error);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < ac->n; i++)
                if (memcmp(ac->entries[i].id, key_id, SIGKEY_ID_LEN) == 0)
                        hit = &ac->entries[i]; /* the last one wins, as the reference's map */
        if (hit) {
                memcpy(spki_out, hit->spki, SIGKEY_SPKI_LEN);
                *found = true;
        }
        return 0;
}

/* ---- static list -------------------------------------------------------- */

int authorized_keys_add(authorized_keys *list, const char *text, char **ret_error) {
        authorized_key k, *n;
        int r;

        r = authorized_client_key_parse(text, k.id, k.spki, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < list->n; i++)
                if (memcmp(list->keys[i].id, k.id, SIGKEY_ID_LEN) == 0)
                        return 0;
        n = reallocarray(list->keys, list->n + 1, sizeof(authorized_key));
        if (!n)
                return oom(ret_error);
        list->keys = n;
        list->keys[list->n++] = k;
        return 0;
}

int authorized_keys_add_env(authorized_keys *list, const char *value, char **ret_error) {
        _cleanup_free_ char *v = NULL;
        char *p;
        int r;

        if (!value)
                return 0;
        v = trimmed(value);
        if (!v)
                return oom(ret_error);
        if (!*v)
                return 0;
        p = v;
        for (;;) {
                char *comma = strchr(p, ',');

                if (comma)
                        *comma = 0;
                r = authorized_keys_add(list, p, ret_error);
                if (r < 0)
                        return r;
                if (!comma)
                        return 0;
                p = comma + 1;
        }
}

bool authorized_keys_find(const authorized_keys *list, const uint8_t key_id[SIGKEY_ID_LEN],
                          uint8_t spki_out[SIGKEY_SPKI_LEN]) {
        for (size_t i = 0; i < list->n; i++)
                if (memcmp(list->keys[i].id, key_id, SIGKEY_ID_LEN) == 0) {
                        memcpy(spki_out, list->keys[i].spki, SIGKEY_SPKI_LEN);
                        return true;
                }
        return false;
}

void authorized_keys_clear(authorized_keys *list) {
        free(list->keys);
        list->keys = NULL;
        list->n = 0;
}
