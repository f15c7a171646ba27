/* The login policy engine (see policy.h and policy.yaml(5)).
 *
 * Loading happens in two passes so that no half-checked data ever reaches the
 * rules: libyaml's event parser builds a small tree (scalars, sequences,
 * mappings with their line and column), refusing anchors, aliases, tags,
 * second documents and excessive size or depth; then a schema walk turns the
 * tree into rules, refusing unknown keys, duplicate keys and bad values with
 * "FILE:LINE:COLUMN: message". The tree is freed before policy_parse()
 * returns.
 *
 * Dependencies are kept to libc, libyaml and lib/errmsg.c, because
 * pam_rstream.so links this file. */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "b64u.h"
#include "errmsg.h"
#include "macro.h"

/* Bounds on what a policy file may contain. A real policy is a few hundred
 * lines; these only stop a hostile or broken file from costing much. */
#define POLICY_FILE_MAX (1024u * 1024u)
#define POLICY_NODES_MAX 200000u
#define POLICY_DEPTH_MAX 16u
#define POLICY_RULES_MAX 10000u
#define POLICY_LIST_MAX 1000u
#define POLICY_LABELS_MAX 64u
#define POLICY_RULE_NAME_MAX 64u
#define POLICY_USER_MAX 32u
#define POLICY_VALUE_MAX 255u
#define POLICY_UID_LOWEST 1000u
#define POLICY_UID_HIGHEST 2147483646u
#define KEY_ID_LEN 32u
#define KEY_ID_SHORT_HEX 16u
#define GROUPS_MAX 65536

/* ------------------------------------------------------------------ */
/* The YAML tree                                                        */

typedef enum ynode_type {
        YN_SCALAR,
        YN_SEQ,
        YN_MAP,
} ynode_type;

typedef struct ynode {
        ynode_type type;
        unsigned line, col; /* 1-based */
        bool plain;         /* scalar written without quotes */
        char *value;        /* scalar text, NUL-terminated */
        size_t len;
        struct ynode **items; /* sequence items; mapping: key, value, key, value, ... */
        size_t n, cap;
} ynode;

static void ynode_free(ynode *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n; i++)
                ynode_free(n->items[i]);
        free(n->items);
        free(n->value);
        free(n);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ynode, ynode_free);

static int perr(char **ret_error, const char *name, unsigned line, unsigned col, const char *fmt, ...)
        _printf_(5, 6);

/* "FILE:LINE:COLUMN: message", -EINVAL. */
static int perr(char **ret_error, const char *name, unsigned line, unsigned col, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return errmsg_set(ret_error, -ENOMEM, "%s: out of memory", name);
        return errmsg_set(ret_error, -EINVAL, "%s:%u:%u: %s", name, line, col, msg);
}

/* Line and column (1-based) of a byte offset, for reader errors, which libyaml
 * reports by offset only. */
static void offset_position(const char *text, size_t len, size_t off, unsigned *line, unsigned *col) {
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < off && i < len; i++) {
                if (text[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else
                        (*col)++;
        }
}

static int yaml_error(yaml_parser_t *parser, const char *text, size_t len, const char *name,
                      char **ret_error) {
        unsigned line, col;

        if (parser->error == YAML_MEMORY_ERROR)
                return errmsg_set(ret_error, -ENOMEM, "%s: out of memory", name);
        if (parser->error == YAML_READER_ERROR)
                offset_position(text, len, parser->problem_offset, &line, &col);
        else {
                line = (unsigned) parser->problem_mark.line + 1;
                col = (unsigned) parser->problem_mark.column + 1;
        }
        if (parser->context)
                return perr(ret_error, name, line, col, "%s: %s", parser->context,
                            parser->problem ? parser->problem : "invalid YAML");
        return perr(ret_error, name, line, col, "%s", parser->problem ? parser->problem : "invalid YAML");
}

static int ynode_append(ynode *parent, ynode *child) {
        if (parent->n == parent->cap) {
                size_t cap = parent->cap ? 2 * parent->cap : 4;
                ynode **items = reallocarray(parent->items, cap, sizeof(*items));

                if (!items)
                        return -ENOMEM;
                parent->items = items;
                parent->cap = cap;
        }
        parent->items[parent->n++] = child;
        return 0;
}

/* Refuses what this format never needs and what makes YAML dangerous: anchors
 * and aliases (exponential expansion), tags (type confusion). */
static int check_node_props(const yaml_event_t *ev, const char *name, char **ret_error) {
        const yaml_char_t *anchor = NULL, *tag = NULL;
        unsigned line = (unsigned) ev->start_mark.line + 1, col = (unsigned) ev->start_mark.column + 1;

        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                anchor = ev->data.scalar.anchor;
                tag = ev->data.scalar.tag;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = ev->data.sequence_start.anchor;
                tag = ev->data.sequence_start.tag;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = ev->data.mapping_start.anchor;
                tag = ev->data.mapping_start.tag;
                break;
        default:
                return 0;
        }
        if (anchor)
                return perr(ret_error, name, line, col, "YAML anchors are not allowed in a policy");
        if (tag)
                return perr(ret_error, name, line, col, "YAML tags are not allowed in a policy");
        return 0;
}

static int tree_build(const char *text, size_t len, const char *name, ynode **ret, char **ret_error) {
        yaml_parser_t parser;
        yaml_event_t ev;
        ynode *stack[POLICY_DEPTH_MAX];
        _cleanup_(ynode_freep) ynode *root = NULL;
        size_t depth = 0, nodes = 0;
        unsigned docs = 0;
        bool done = false;
        int r = 0;

        *ret = NULL;
        if (!yaml_parser_initialize(&parser))
                return errmsg_set(ret_error, -ENOMEM, "%s: out of memory", name);
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);

        while (!done) {
                ynode *n = NULL;
                unsigned line, col;

                if (!yaml_parser_parse(&parser, &ev)) {
                        r = yaml_error(&parser, text, len, name, ret_error);
                        goto out;
                }
                line = (unsigned) ev.start_mark.line + 1;
                col = (unsigned) ev.start_mark.column + 1;
                r = check_node_props(&ev, name, ret_error);
                if (r < 0) {
                        yaml_event_delete(&ev);
                        goto out;
                }
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++docs > 1) {
                                r = perr(ret_error, name, line, col,
                                         "only one YAML document is allowed in a policy");
                                yaml_event_delete(&ev);
                                goto out;
                        }
                        break;
                case YAML_ALIAS_EVENT:
                        r = perr(ret_error, name, line, col, "YAML aliases are not allowed in a policy");
                        yaml_event_delete(&ev);
                        goto out;
                case YAML_SCALAR_EVENT:
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        if (++nodes > POLICY_NODES_MAX) {
                                r = perr(ret_error, name, line, col, "too many YAML nodes (more than %u)",
                                         POLICY_NODES_MAX);
                                yaml_event_delete(&ev);
                                goto out;
                        }
                        n = calloc(1, sizeof(*n));
                        if (!n) {
                                r = errmsg_set(ret_error, -ENOMEM, "%s: out of memory", name);
                                yaml_event_delete(&ev);
                                goto out;
                        }
                        n->line = line;
                        n->col = col;
                        if (ev.type == YAML_SCALAR_EVENT) {
                                n->type = YN_SCALAR;
                                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                                n->len = ev.data.scalar.length;
                                n->value = malloc(n->len + 1);
                                if (n->value) {
                                        memcpy(n->value, ev.data.scalar.value, n->len);
                                        n->value[n->len] = 0;
                                }
                        } else
                                n->type = ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP;
                        if ((n->type == YN_SCALAR && !n->value) ||
                            (depth > 0 ? ynode_append(stack[depth - 1], n) : 0) < 0) {
                                ynode_free(n);
                                r = errmsg_set(ret_error, -ENOMEM, "%s: out of memory", name);
                                yaml_event_delete(&ev);
                                goto out;
                        }
                        if (depth == 0)
                                root = n; /* one document, one root */
                        if (n->type != YN_SCALAR) {
                                if (depth == POLICY_DEPTH_MAX) {
                                        r = perr(ret_error, name, line, col,
                                                 "YAML nested too deeply (more than %u levels)",
                                                 POLICY_DEPTH_MAX);
                                        yaml_event_delete(&ev);
                                        goto out;
                                }
                                stack[depth++] = n;
                        }
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        if (depth > 0)
                                depth--;
                        break;
                default:
                        break;
                }
                yaml_event_delete(&ev);
        }
        *ret = TAKE_PTR(root);
out:
        yaml_parser_delete(&parser);
        return r;
}

/* ------------------------------------------------------------------ */
/* The loaded policy                                                    */

typedef struct strv {
        char **v;
        size_t n;
} strv;

typedef enum rule_action {
        ACT_NONE,
        ACT_USER,
        ACT_DEFAULT,
        ACT_TEMPLATE,
        ACT_CLIENT_USER,
        ACT_DENY,
} rule_action;

typedef struct rule {
        char name[POLICY_RULE_NAME_MAX + 1];
        unsigned line, col;
        bool has_match;
        strv clients, principals, devices;
        uint8_t (*key_ids)[KEY_ID_LEN];
        size_t n_key_ids;
        strv label_keys, label_values;
        bool unauthenticated;
        rule_action action;
        char *user; /* ACT_USER: the name; ACT_TEMPLATE: the template */
        strv allowed_users, allowed_groups;
        bool sudo;
} rule;

struct policy {
        policy_accounts accounts;
        rule *rules;
        size_t n_rules;
};

static void strv_done(strv *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        s->v = NULL;
        s->n = 0;
}

static void rule_done(rule *r) {
        strv_done(&r->clients);
        strv_done(&r->principals);
        strv_done(&r->devices);
        strv_done(&r->label_keys);
        strv_done(&r->label_values);
        strv_done(&r->allowed_users);
        strv_done(&r->allowed_groups);
        free(r->key_ids);
        free(r->user);
}

policy *policy_free(policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_rules; i++)
                rule_done(&p->rules[i]);
        free(p->rules);
        free(p);
        return NULL;
}

/* ------------------------------------------------------------------ */
/* Name and template checks (also used at decision time)               */

/* Template-made and provisioned names: [a-z_][a-z0-9_-]*, at most 32 bytes
 * (the portable subset useradd accepts without --badname). */
static bool valid_strict_user(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > POLICY_USER_MAX)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* Existing accounts (fixed, requested, allowed lists, groups): the POSIX
 * portable set [A-Za-z0-9._-], not starting with '-', not all digits (it
 * would read as a uid), not "." or "..", at most 32 bytes. */
static bool valid_account_name(const char *s) {
        size_t n = strlen(s);
        bool digits = true;

        if (n == 0 || n > POLICY_USER_MAX || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
                if (!(c >= '0' && c <= '9'))
                        digits = false;
        }
        return !digits;
}

static bool valid_rule_name(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > POLICY_RULE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* snprintf for messages where cutting a long line is acceptable (reasons are
 * one log line; names in them are already capped). */
static void fmt_into(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void fmt_into(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

/* Copies s into out (size out_size) for a message: at most max bytes, '"',
 * '\\' and non-printable bytes as \xNN, "..." when cut. Never fails. */
static void quote_for_log(const char *s, size_t max, char *out, size_t out_size) {
        size_t o = 0, i;

        if (out_size == 0)
                return;
        for (i = 0; s && s[i] && i < max; i++) {
                unsigned char c = (unsigned char) s[i];
                char tmp[5];
                size_t k;

                if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        k = (size_t) snprintf(tmp, sizeof(tmp), "\\x%02x", c);
                else {
                        tmp[0] = (char) c;
                        k = 1;
                }
                if (o + k + 4 >= out_size)
                        break;
                memcpy(out + o, tmp, k);
                o += k;
        }
        if (s && s[i] && o + 3 < out_size) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = 0;
}

/* 64 hex digits, or the 43-character base64url form without padding that
 * `webtty identity show` and `webtty authorized-client list` print (canonical:
 * one spelling per key id, as everywhere else in webtty). */
int policy_parse_key_id(const char *s, uint8_t ret[32]) {
        const char *end = NULL;
        size_t n = 0;

        if (s && strlen(s) == 43)
                return b64u_decode_exact(s, ret, KEY_ID_LEN) < 0 ? -EINVAL : 0;
        if (!s || strlen(s) != 2 * KEY_ID_LEN)
                return -EINVAL;
        if (sodium_hex2bin(ret, KEY_ID_LEN, s, 2 * KEY_ID_LEN, NULL, &n, &end) != 0 || n != KEY_ID_LEN ||
            *end != '\0')
                return -EINVAL;
        return 0;
}

enum {
        PH_NAME = 1 << 0,
        PH_KEY_ID = 1 << 1,
        PH_USER = 1 << 2,
};

/* Checks a template's placeholders against `allowed`; *used gets the ones it
 * has. On error, *bad_off is the byte offset of the problem and *what names it. */
static bool template_scan(const char *t, unsigned allowed, unsigned *used, size_t *bad_off,
                          const char **what) {
        *used = 0;
        for (size_t i = 0; t[i]; i++) {
                if (t[i] == '}') {
                        *bad_off = i;
                        *what = "unmatched '}'";
                        return false;
                }
                if (t[i] != '{')
                        continue;
                if (strncmp(t + i, "{name}", 6) == 0 && (allowed & PH_NAME)) {
                        *used |= PH_NAME;
                        i += 5;
                } else if (strncmp(t + i, "{key_id}", 8) == 0 && (allowed & PH_KEY_ID)) {
                        *used |= PH_KEY_ID;
                        i += 7;
                } else if (strncmp(t + i, "{user}", 6) == 0 && (allowed & PH_USER)) {
                        *used |= PH_USER;
                        i += 5;
                } else {
                        *bad_off = i;
                        *what = "unknown placeholder";
                        return false;
                }
        }
        return true;
}

static int expand(const char *tmpl, const policy_caller *caller, const char *user, char *out,
                  size_t out_size, char **ret_error) {
        char who[80];
        size_t o = 0;

        quote_for_log(caller ? caller->client_name : NULL, 64, who, sizeof(who));
        if (out_size == 0)
                return -EINVAL;
        for (size_t i = 0; tmpl[i];) {
                char keyhex[2 * KEY_ID_LEN + 1];
                const char *piece;
                size_t plen;

                if (strncmp(tmpl + i, "{name}", 6) == 0) {
                        if (!caller || !caller->client_name || !caller->client_name[0])
                                return errmsg_set(ret_error, -EINVAL,
                                                  "template \"%s\" needs the caller's client name, and the "
                                                  "caller has none",
                                                  tmpl);
                        piece = caller->client_name;
                        i += 6;
                } else if (strncmp(tmpl + i, "{key_id}", 8) == 0) {
                        if (!caller || !caller->key_id)
                                return errmsg_set(
                                        ret_error, -EINVAL,
                                        "template \"%s\" needs the caller's key id, and the caller has none",
                                        tmpl);
                        sodium_bin2hex(keyhex, sizeof(keyhex), caller->key_id, KEY_ID_LEN);
                        keyhex[KEY_ID_SHORT_HEX] = 0;
                        piece = keyhex;
                        i += 8;
                } else if (strncmp(tmpl + i, "{user}", 6) == 0) {
                        if (!user)
                                return errmsg_set(ret_error, -EINVAL,
                                                  "template \"%s\": {user} is only valid in home and gecos",
                                                  tmpl);
                        piece = user;
                        i += 6;
                } else if (tmpl[i] == '{' || tmpl[i] == '}') {
                        return errmsg_set(ret_error, -EINVAL, "template \"%s\": bad placeholder at byte %zu",
                                          tmpl, i + 1);
                } else {
                        piece = tmpl + i;
                        plen = 1;
                        i++;
                        goto copy;
                }
                plen = strlen(piece);
        copy:
                if (plen >= out_size - o)
                        return errmsg_set(ret_error, -ENAMETOOLONG,
                                          "template \"%s\" for caller \"%s\" expands to more than %zu bytes",
                                          tmpl, who, out_size - 1);
                memcpy(out + o, piece, plen);
                o += plen;
        }
        out[o] = 0;
        if (!user) {
                char got[80];

                if (!valid_strict_user(out)) {
                        quote_for_log(out, 64, got, sizeof(got));
                        return errmsg_set(
                                ret_error, -EINVAL,
                                "template \"%s\" gives \"%s\" for caller \"%s\": not a valid user name "
                                "([a-z_][a-z0-9_-]*, at most 32 bytes)",
                                tmpl, got, who);
                }
        } else {
                for (size_t i = 0; i < o; i++) {
                        unsigned char c = (unsigned char) out[i];

                        if (c < 0x20 || c == 0x7f || c == ':')
                                return errmsg_set(ret_error, -EINVAL,
                                                  "template \"%s\" for caller \"%s\" gives a value with ':' "
                                                  "or a control "
                                                  "character",
                                                  tmpl, who);
                }
        }
        return 0;
}

int policy_expand_template(const char *tmpl, const policy_caller *caller, const char *user, char *out,
                           size_t out_size, char **ret_error) {
        if (!tmpl || !out)
                return -EINVAL;
        return expand(tmpl, caller, user, out, out_size, ret_error);
}

int policy_account_fields(const policy *p, const policy_caller *caller, const char *user, char *home,
                          char *gecos, char **ret_error) {
        int r;

        if (!p || !user || !home || !gecos)
                return -EINVAL;
        r = expand(p->accounts.home_template, caller, user, home, POLICY_NAME_MAX, ret_error);
        if (r < 0)
                return r;
        /* A name or key can never climb out of the home base: the template is
         * absolute (checked at load), and no component may be "." or "..". */
        for (const char *c = home; *c;) {
                size_t l = strcspn(c, "/");

                if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
                        return errmsg_set(ret_error, -EINVAL,
                                          "home \"%s\" for user %s has a \".\" or \"..\" component", home,
                                          user);
                c += l;
                if (*c == '/')
                        c++;
        }
        return expand(p->accounts.gecos_template, caller, user, gecos, POLICY_NAME_MAX, ret_error);
}

/* ------------------------------------------------------------------ */
/* Schema walk                                                          */

typedef struct ctx {
        const char *name;
        char **err;
} ctx;

static int node_err(ctx *c, const ynode *n, const char *fmt, ...) _printf_(3, 4);
static int node_err(ctx *c, const ynode *n, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
        return perr(c->err, c->name, n->line, n->col, "%s", msg);
}

static const char *type_name(const ynode *n) {
        switch (n->type) {
        case YN_SCALAR:
                return n->plain && n->len == 0 ? "nothing" : "a scalar";
        case YN_SEQ:
                return "a list";
        default:
                return "a mapping";
        }
}

static int expect_map(ctx *c, const ynode *n, const char *what) {
        if (n->type != YN_MAP)
                return node_err(c, n, "%s must be a mapping, not %s", what, type_name(n));
        return 0;
}

/* A non-empty string of at most max bytes without NUL or control bytes. */
static int get_string(ctx *c, const ynode *n, const char *what, size_t max, const char **ret) {
        if (n->type != YN_SCALAR || (n->plain && n->len == 0))
                return node_err(c, n, "%s must be a string, not %s", what, type_name(n));
        if (n->len == 0)
                return node_err(c, n, "%s must not be empty", what);
        if (n->len > max)
                return node_err(c, n, "%s is longer than %zu bytes", what, max);
        for (size_t i = 0; i < n->len; i++)
                if ((unsigned char) n->value[i] < 0x20 || n->value[i] == 0x7f)
                        return node_err(c, n, "%s contains a control character", what);
        *ret = n->value;
        return 0;
}

static int get_bool(ctx *c, const ynode *n, const char *what, bool *ret) {
        if (n->type == YN_SCALAR && n->plain && strcmp(n->value, "true") == 0)
                *ret = true;
        else if (n->type == YN_SCALAR && n->plain && strcmp(n->value, "false") == 0)
                *ret = false;
        else
                return node_err(c, n, "%s must be true or false", what);
        return 0;
}

/* A plain decimal number in [0, max]. */
static int parse_number(const char *s, size_t len, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;

        if (len == 0 || len > 10)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* A string or a non-empty list of strings; each checked with check (may be
 * NULL) whose failure message is check_msg. */
static int get_strlist(ctx *c, const ynode *n, const char *what, size_t max, bool (*check)(const char *),
                       const char *check_msg, strv *ret) {
        const ynode *const *items = (const ynode *const *) &n;
        size_t count = 1;

        if (n->type == YN_MAP)
                return node_err(c, n, "%s must be a string or a list of strings, not a mapping", what);
        if (n->type == YN_SEQ) {
                items = (const ynode *const *) n->items;
                count = n->n;
                if (count == 0)
                        return node_err(c, n, "%s is an empty list (omit it to match anything)", what);
                if (count > POLICY_LIST_MAX)
                        return node_err(c, n, "%s has more than %u entries", what, POLICY_LIST_MAX);
        }
        ret->v = calloc(count, sizeof(char *));
        if (!ret->v)
                return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
        for (size_t i = 0; i < count; i++) {
                const char *s;
                int r;

                if (items[i]->type != YN_SCALAR)
                        return node_err(c, items[i], "%s entries must be strings, not %s", what,
                                        type_name(items[i]));
                r = get_string(c, items[i], what, max, &s);
                if (r < 0)
                        return r;
                if (check && !check(s))
                        return node_err(c, items[i], "%s: \"%s\" %s", what, s, check_msg);
                ret->v[i] = strdup(s);
                if (!ret->v[i])
                        return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
                ret->n++;
        }
        return 0;
}

/* Checks that map is a mapping ("<what> must be a mapping"), then walks its
 * pairs, refusing keys not in `keys` (a NULL-ended list) and duplicates.
 * seen[i] gets the value node of keys[i]. */
static int map_keys(ctx *c, const ynode *map, const char *what, const char *const *keys,
                    const ynode **seen_keys, const ynode **seen) {
        int r = expect_map(c, map, what);

        if (r < 0)
                return r;
        for (size_t i = 0; i + 1 < map->n; i += 2) {
                const ynode *k = map->items[i];
                size_t j;

                if (k->type != YN_SCALAR)
                        return node_err(c, k, "keys in %s must be strings, not %s", what, type_name(k));
                for (j = 0; keys[j]; j++)
                        if (strcmp(keys[j], k->value) == 0)
                                break;
                if (!keys[j]) {
                        char valid[256] = "", got[80];
                        size_t o = 0;

                        for (size_t m = 0; keys[m]; m++)
                                o += (size_t) snprintf(valid + o, sizeof(valid) - MIN(o, sizeof(valid)),
                                                       "%s%s", m ? ", " : "", keys[m]);
                        quote_for_log(k->value, 64, got, sizeof(got));
                        return node_err(c, k, "unknown key \"%s\" in %s (valid: %s)", got, what, valid);
                }
                if (seen_keys[j])
                        return node_err(c, k, "duplicate key \"%s\" in %s (first at line %u)", keys[j], what,
                                        seen_keys[j]->line);
                seen_keys[j] = k;
                seen[j] = map->items[i + 1];
        }
        return 0;
}

static int parse_accounts(ctx *c, const ynode *n, policy_accounts *a) {
        static const char *const keys[] = {"uid_range", "group", "home", "shell", "gecos", NULL};
        const ynode *seen_keys[5] = {}, *seen[5] = {};
        const char *s;
        int r;

        r = map_keys(c, n, "accounts", keys, seen_keys, seen);
        if (r < 0)
                return r;
        if (seen[0]) {
                unsigned long lo, hi;
                const char *dash;

                r = get_string(c, seen[0], "uid_range", 32, &s);
                if (r < 0)
                        return r;
                dash = strchr(s, '-');
                if (!dash || parse_number(s, (size_t) (dash - s), 0xffffffffUL, &lo) < 0 ||
                    parse_number(dash + 1, strlen(dash + 1), 0xffffffffUL, &hi) < 0)
                        return node_err(c, seen[0], "uid_range \"%s\" must be MIN-MAX (two decimal uids)",
                                        s);
                if (lo > hi)
                        return node_err(c, seen[0], "uid_range %s: MIN is greater than MAX", s);
                if (lo < POLICY_UID_LOWEST)
                        return node_err(c, seen[0],
                                        "uid_range %s: uids below %u are reserved for system accounts", s,
                                        POLICY_UID_LOWEST);
                if (hi > POLICY_UID_HIGHEST)
                        return node_err(c, seen[0], "uid_range %s: uids above %u are not allowed", s,
                                        POLICY_UID_HIGHEST);
                a->uid_min = (uid_t) lo;
                a->uid_max = (uid_t) hi;
        }
        if (seen[1]) {
                unsigned long g;

                if (seen[1]->type != YN_SCALAR || !seen[1]->plain ||
                    parse_number(seen[1]->value, seen[1]->len, POLICY_UID_HIGHEST, &g) < 0)
                        return node_err(c, seen[1],
                                        "group must be a gid number (0: a per-user group with gid = uid)");
                a->gid = (gid_t) g;
        }
        if (seen[2]) {
                unsigned used;
                size_t off;
                const char *what;

                r = get_string(c, seen[2], "home", POLICY_NAME_MAX - 1, &s);
                if (r < 0)
                        return r;
                if (s[0] != '/')
                        return node_err(c, seen[2], "home \"%s\" must be an absolute path", s);
                if (strchr(s, ':'))
                        return node_err(c, seen[2], "home \"%s\" must not contain ':'", s);
                if (!template_scan(s, PH_USER | PH_NAME | PH_KEY_ID, &used, &off, &what))
                        return node_err(c, seen[2],
                                        "home \"%s\": %s at byte %zu (valid: {user}, {name}, {key_id})", s,
                                        what, off + 1);
                strcpy(a->home_template, s);
        }
        if (seen[3]) {
                r = get_string(c, seen[3], "shell", POLICY_NAME_MAX - 1, &s);
                if (r < 0)
                        return r;
                if (s[0] != '/' || strpbrk(s, ": {}"))
                        return node_err(
                                c, seen[3],
                                "shell \"%s\" must be an absolute path without ':', spaces or braces", s);
                strcpy(a->shell, s);
        }
        if (seen[4]) {
                unsigned used;
                size_t off;
                const char *what;

                r = get_string(c, seen[4], "gecos", POLICY_NAME_MAX - 1, &s);
                if (r < 0)
                        return r;
                if (strchr(s, ':'))
                        return node_err(c, seen[4], "gecos \"%s\" must not contain ':'", s);
                if (!template_scan(s, PH_USER | PH_NAME | PH_KEY_ID, &used, &off, &what))
                        return node_err(c, seen[4],
                                        "gecos \"%s\": %s at byte %zu (valid: {user}, {name}, {key_id})", s,
                                        what, off + 1);
                strcpy(a->gecos_template, s);
        }
        return 0;
}

static int parse_match(ctx *c, const ynode *n, rule *ru) {
        static const char *const keys[] = {"client",        "key_id",          "principal", "device",
                                           "server_labels", "unauthenticated", NULL};
        const ynode *seen_keys[6] = {}, *seen[6] = {};
        int r;

        r = map_keys(c, n, "match", keys, seen_keys, seen);
        if (r < 0)
                return r;
        if (seen[0]) {
                r = get_strlist(c, seen[0], "client", POLICY_VALUE_MAX, NULL, NULL, &ru->clients);
                if (r < 0)
                        return r;
        }
        if (seen[1]) {
                strv ids = {};

                r = get_strlist(c, seen[1], "key_id", 2 * KEY_ID_LEN + 1, NULL, NULL, &ids);
                if (r >= 0) {
                        ru->key_ids = calloc(ids.n, KEY_ID_LEN);
                        if (!ru->key_ids)
                                r = errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
                }
                for (size_t i = 0; r >= 0 && i < ids.n; i++) {
                        const ynode *item = seen[1]->type == YN_SEQ ? seen[1]->items[i] : seen[1];

                        if (policy_parse_key_id(ids.v[i], ru->key_ids[i]) < 0)
                                r = node_err(c, item,
                                             "key_id \"%s\" must be 64 hexadecimal digits or 43 base64url "
                                             "characters",
                                             ids.v[i]);
                        else
                                ru->n_key_ids++;
                }
                strv_done(&ids);
                if (r < 0)
                        return r;
        }
        if (seen[2]) {
                r = get_strlist(c, seen[2], "principal", POLICY_VALUE_MAX, NULL, NULL, &ru->principals);
                if (r < 0)
                        return r;
        }
        if (seen[3]) {
                r = get_strlist(c, seen[3], "device", POLICY_VALUE_MAX, NULL, NULL, &ru->devices);
                if (r < 0)
                        return r;
        }
        if (seen[4]) {
                const ynode *m = seen[4];
                size_t count;

                r = expect_map(c, m, "server_labels");
                if (r < 0)
                        return r;
                count = m->n / 2;
                if (count == 0)
                        return node_err(c, m, "server_labels is empty (omit it to match any server)");
                if (count > POLICY_LABELS_MAX)
                        return node_err(c, m, "server_labels has more than %u labels", POLICY_LABELS_MAX);
                ru->label_keys.v = calloc(count, sizeof(char *));
                ru->label_values.v = calloc(count, sizeof(char *));
                if (!ru->label_keys.v || !ru->label_values.v)
                        return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
                for (size_t i = 0; i < count; i++) {
                        const ynode *k = m->items[2 * i], *v = m->items[2 * i + 1];
                        const char *ks, *vs;

                        if (k->type != YN_SCALAR)
                                return node_err(c, k, "keys in server_labels must be strings, not %s",
                                                type_name(k));
                        r = get_string(c, k, "a server label name", POLICY_VALUE_MAX, &ks);
                        if (r < 0)
                                return r;
                        if (strchr(ks, '='))
                                return node_err(c, k, "server label name \"%s\" must not contain '='", ks);
                        for (size_t j = 0; j < i; j++)
                                if (strcmp(ru->label_keys.v[j], ks) == 0)
                                        return node_err(
                                                c, k,
                                                "duplicate key \"%s\" in server_labels (first at line %u)",
                                                ks, m->items[2 * j]->line);
                        if (v->type != YN_SCALAR)
                                return node_err(c, v, "server label \"%s\" must have a string value, not %s",
                                                ks, type_name(v));
                        if (v->plain && v->len == 0)
                                return node_err(c, v, "server label \"%s\" has no value", ks);
                        r = get_string(c, v, "a server label value", POLICY_VALUE_MAX, &vs);
                        if (r < 0)
                                return r;
                        ru->label_keys.v[i] = strdup(ks);
                        ru->label_values.v[i] = strdup(vs);
                        if (!ru->label_keys.v[i] || !ru->label_values.v[i]) {
                                free(ru->label_keys.v[i]);
                                free(ru->label_values.v[i]);
                                ru->label_keys.v[i] = ru->label_values.v[i] = NULL;
                                return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
                        }
                        ru->label_keys.n++;
                        ru->label_values.n++;
                }
        }
        if (seen[5]) {
                r = get_bool(c, seen[5], "unauthenticated", &ru->unauthenticated);
                if (r < 0)
                        return r;
                if (ru->unauthenticated && (seen[0] || seen[1] || seen[2] || seen[3]))
                        return node_err(
                                c, seen_keys[5],
                                "unauthenticated: true cannot be combined with client, key_id, principal or "
                                "device (an unauthenticated session has none)");
        }
        return 0;
}

static int parse_client_user(ctx *c, const ynode *n, rule *ru) {
        static const char *const keys[] = {"users", "groups", NULL};
        const ynode *seen_keys[2] = {}, *seen[2] = {};
        int r;

        r = map_keys(c, n, "client_user", keys, seen_keys, seen);
        if (r < 0)
                return r;
        if (!seen[0] && !seen[1])
                return node_err(c, n, "client_user needs users, groups or both");
        if (seen[0]) {
                r = get_strlist(c, seen[0], "users", POLICY_USER_MAX, valid_account_name,
                                "is not a valid user name", &ru->allowed_users);
                if (r < 0)
                        return r;
        }
        if (seen[1]) {
                r = get_strlist(c, seen[1], "groups", POLICY_USER_MAX, valid_account_name,
                                "is not a valid group name", &ru->allowed_groups);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *action_key(rule_action a) {
        switch (a) {
        case ACT_USER:
        case ACT_DEFAULT:
                return "user";
        case ACT_TEMPLATE:
                return "user_template";
        case ACT_CLIENT_USER:
                return "client_user";
        case ACT_DENY:
                return "deny";
        default:
                return "?";
        }
}

static int parse_rule(ctx *c, const ynode *n, policy *p, rule *ru) {
        static const char *const keys[] = {"name",        "match", "user", "user_template",
                                           "client_user", "deny",  "sudo", NULL};
        enum { K_NAME, K_MATCH, K_USER, K_TEMPLATE, K_CLIENT_USER, K_DENY, K_SUDO };
        const ynode *seen_keys[7] = {}, *seen[7] = {}, *first_action = NULL;
        const char *s;
        int r;

        ru->line = n->line;
        ru->col = n->col;
        r = map_keys(c, n, "a rule", keys, seen_keys, seen);
        if (r < 0)
                return r;
        if (!seen[K_NAME])
                return node_err(c, n, "rule has no name");
        r = get_string(c, seen[K_NAME], "name", POLICY_RULE_NAME_MAX, &s);
        if (r < 0)
                return r;
        if (!valid_rule_name(s))
                return node_err(c, seen[K_NAME],
                                "rule name \"%s\" must be 1-%u letters, digits, '.', '_' or '-'", s,
                                POLICY_RULE_NAME_MAX);
        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].name, s) == 0)
                        return node_err(c, seen[K_NAME], "duplicate rule name \"%s\" (first at line %u)", s,
                                        p->rules[i].line);
        strcpy(ru->name, s);

        /* Exactly one action. Walk the keys in file order so the message
         * points at the second action the reader wrote. */
        for (size_t i = 0; i + 1 < n->n; i += 2) {
                const ynode *k = n->items[i];
                bool is_action = strcmp(k->value, "user") == 0 || strcmp(k->value, "user_template") == 0 ||
                                 strcmp(k->value, "client_user") == 0 || strcmp(k->value, "deny") == 0;

                if (!is_action)
                        continue;
                if (first_action)
                        return node_err(
                                c, k,
                                "rule \"%s\" has both %s and %s (exactly one of user, user_template, "
                                "client_user, deny)",
                                ru->name, first_action->value, k->value);
                first_action = k;
        }
        if (!first_action)
                return node_err(c, n, "rule \"%s\" needs one of user, user_template, client_user, deny",
                                ru->name);

        if (seen[K_USER]) {
                r = get_string(c, seen[K_USER], "user", POLICY_USER_MAX, &s);
                if (r < 0)
                        return r;
                if (strcmp(s, "default") == 0)
                        ru->action = ACT_DEFAULT;
                else if (!valid_account_name(s))
                        return node_err(c, seen[K_USER],
                                        "user \"%s\" is not a valid user name (letters, digits, '.', '_', "
                                        "'-'; at most "
                                        "32 bytes; not starting with '-')",
                                        s);
                else {
                        ru->action = ACT_USER;
                        ru->user = strdup(s);
                }
        } else if (seen[K_TEMPLATE]) {
                unsigned used;
                size_t off;
                const char *what;
                char lit[POLICY_NAME_MAX];
                size_t o = 0;

                r = get_string(c, seen[K_TEMPLATE], "user_template", POLICY_NAME_MAX - 1, &s);
                if (r < 0)
                        return r;
                if (!template_scan(s, PH_NAME | PH_KEY_ID, &used, &off, &what))
                        return node_err(c, seen[K_TEMPLATE],
                                        "user_template \"%s\": %s at byte %zu (valid: {name}, {key_id})", s,
                                        what, off + 1);
                if (!used)
                        return node_err(c, seen[K_TEMPLATE],
                                        "user_template \"%s\" has no {name} or {key_id}: every caller would "
                                        "share one "
                                        "account (use user: instead)",
                                        s);
                /* The fixed text must itself be user-name material, so only
                 * the caller's part can make a name invalid (checked per
                 * decision). A stand-in "a" for each placeholder keeps the
                 * first-character rule meaningful. */
                for (size_t i = 0; s[i] && o + 1 < sizeof(lit);) {
                        if (s[i] == '{') {
                                lit[o++] = 'a';
                                i += strcspn(s + i, "}") + 1;
                        } else
                                lit[o++] = s[i++];
                }
                lit[o] = 0;
                if (!valid_strict_user(lit))
                        return node_err(
                                c, seen[K_TEMPLATE],
                                "user_template \"%s\" cannot give a valid user name ([a-z_][a-z0-9_-]*, at "
                                "most 32 bytes)",
                                s);
                ru->action = ACT_TEMPLATE;
                ru->user = strdup(s);
        } else if (seen[K_CLIENT_USER]) {
                ru->action = ACT_CLIENT_USER;
                r = parse_client_user(c, seen[K_CLIENT_USER], ru);
                if (r < 0)
                        return r;
        } else {
                bool deny;

                r = get_bool(c, seen[K_DENY], "deny", &deny);
                if (r < 0)
                        return r;
                if (!deny)
                        return node_err(c, seen[K_DENY],
                                        "deny: false has no meaning (use deny: true or remove it)");
                ru->action = ACT_DENY;
        }
        if ((ru->action == ACT_USER || ru->action == ACT_TEMPLATE) && !ru->user)
                return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);

        if (seen[K_SUDO]) {
                r = get_bool(c, seen[K_SUDO], "sudo", &ru->sudo);
                if (r < 0)
                        return r;
                if (ru->action == ACT_DENY)
                        return node_err(c, seen_keys[K_SUDO], "sudo has no meaning in a deny rule");
        }
        if (seen[K_MATCH]) {
                ru->has_match = true;
                r = parse_match(c, seen[K_MATCH], ru);
                if (r < 0)
                        return r;
        }
        /* Non-E2E sessions carry no verified caller: they may only become
         * the operator's --login-user (DESIGN.md §2). */
        if (ru->unauthenticated && ru->action != ACT_DEFAULT && ru->action != ACT_DENY)
                return node_err(
                        c, first_action,
                        "rule \"%s\" matches unauthenticated sessions, which may only map to user: default "
                        "(or deny), not %s",
                        ru->name, action_key(ru->action));
        return 0;
}

static void accounts_defaults(policy_accounts *a) {
        a->uid_min = 70000;
        a->uid_max = 79999;
        a->gid = 0;
        strcpy(a->home_template, "/home/{user}");
        strcpy(a->shell, "/bin/bash");
        strcpy(a->gecos_template, "rstream {name}");
}

static int parse_root(ctx *c, const ynode *root, policy *p) {
        static const char *const keys[] = {"version", "accounts", "rules", NULL};
        const ynode *seen_keys[3] = {}, *seen[3] = {};
        const ynode *rules;
        unsigned long v;
        int r;

        if (!root || (root->type == YN_SCALAR && root->plain && root->len == 0))
                return perr(c->err, c->name, root ? root->line : 1, root ? root->col : 1,
                            "empty policy (expected a mapping with version and rules)");
        if (root->type != YN_MAP)
                return node_err(c, root, "a policy must be a mapping with version and rules, not %s",
                                type_name(root));
        r = map_keys(c, root, "the policy", keys, seen_keys, seen);
        if (r < 0)
                return r;
        if (!seen[0])
                return node_err(c, root, "missing key \"version\" (this build reads version: 1)");
        if (seen[0]->type != YN_SCALAR || !seen[0]->plain)
                return node_err(c, seen[0], "version must be the plain number 1");
        if (parse_number(seen[0]->value, seen[0]->len, 1000, &v) < 0 || v != 1) {
                char got[80];

                quote_for_log(seen[0]->value, 32, got, sizeof(got));
                return node_err(c, seen[0], "unsupported version \"%s\" (this build reads version: 1)", got);
        }
        if (seen[1]) {
                r = parse_accounts(c, seen[1], &p->accounts);
                if (r < 0)
                        return r;
        }
        if (!seen[2])
                return node_err(c, root,
                                "missing key \"rules\" (an ordered list; rules: [] denies everyone)");
        rules = seen[2];
        if (rules->type != YN_SEQ)
                return node_err(c, rules, "rules must be a list, not %s", type_name(rules));
        if (rules->n > POLICY_RULES_MAX)
                return node_err(c, rules, "more than %u rules", POLICY_RULES_MAX);
        p->rules = calloc(rules->n ? rules->n : 1, sizeof(rule));
        if (!p->rules)
                return errmsg_set(c->err, -ENOMEM, "%s: out of memory", c->name);
        for (size_t i = 0; i < rules->n; i++) {
                r = parse_rule(c, rules->items[i], p, &p->rules[i]);
                if (r < 0) {
                        rule_done(&p->rules[i]);
                        return r;
                }
                p->n_rules++;
        }
        return 0;
}

int policy_parse(const void *text, size_t len, const char *name, policy **ret, char **ret_error) {
        _cleanup_(ynode_freep) ynode *root = NULL;
        policy *p = NULL;
        ctx c = {.name = name ? name : "policy", .err = ret_error};
        int r;

        if (!ret || (!text && len > 0))
                return -EINVAL;
        *ret = NULL;
        if (len > POLICY_FILE_MAX)
                return errmsg_set(ret_error, -EFBIG, "%s: larger than %u bytes", c.name, POLICY_FILE_MAX);
        r = tree_build(text ? text : "", len, c.name, &root, ret_error);
        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        if (!p)
                return errmsg_set(ret_error, -ENOMEM, "%s: out of memory", c.name);
        accounts_defaults(&p->accounts);
        r = parse_root(&c, root, p);
        if (r < 0) {
                policy_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int policy_load(const char *path, policy **ret, char **ret_error) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (!path || !ret)
                return -EINVAL;
        *ret = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errmsg_set(ret_error, negative_errno(), "%s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return errmsg_set(ret_error, negative_errno(), "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return errmsg_set(ret_error, -EINVAL, "%s: not a regular file", path);
        /* Whoever can write the policy decides who becomes root: like sshd's
         * StrictModes, only root (or the user running us) may own it and
         * nobody else may write it. */
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return errmsg_set(ret_error, -EPERM, "%s: owned by uid %u, not by root", path,
                                  (unsigned) st.st_uid);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return errmsg_set(ret_error, -EPERM, "%s: must not be writable by group or others", path);
        if ((uintmax_t) st.st_size > POLICY_FILE_MAX)
                return errmsg_set(ret_error, -EFBIG, "%s: larger than %u bytes", path, POLICY_FILE_MAX);
        /* Read at most one byte past the limit: the size may change under us. */
        buf = malloc(POLICY_FILE_MAX + 1);
        if (!buf)
                return errmsg_set(ret_error, -ENOMEM, "%s: out of memory", path);
        for (;;) {
                ssize_t n = read(fd, buf + len, POLICY_FILE_MAX + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errmsg_set(ret_error, negative_errno(), "%s: %s", path, strerror(errno));
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > POLICY_FILE_MAX)
                        return errmsg_set(ret_error, -EFBIG, "%s: larger than %u bytes", path,
                                          POLICY_FILE_MAX);
        }
        return policy_parse(buf, len, path, ret, ret_error);
}

/* ------------------------------------------------------------------ */
/* Decisions                                                            */

const policy_accounts *policy_get_accounts(const policy *p) {
        return p ? &p->accounts : NULL;
}

bool policy_allows_unauthenticated(const policy *p) {
        if (!p)
                return false;
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].unauthenticated && p->rules[i].action != ACT_DENY)
                        return true;
        return false;
}

size_t policy_rule_count(const policy *p) {
        return p ? p->n_rules : 0;
}

/* '*' matches any run of bytes (also none); every other byte itself. */
static bool glob_match(const char *pat, const char *s) {
        const char *star = NULL, *resume = NULL;

        while (*s) {
                if (*pat == '*') {
                        star = pat++;
                        resume = s;
                } else if (*pat == *s) {
                        pat++;
                        s++;
                } else if (star) {
                        pat = star + 1;
                        s = ++resume;
                } else
                        return false;
        }
        while (*pat == '*')
                pat++;
        return *pat == 0;
}

static bool present(const char *s) {
        return s && s[0];
}

/* All entries of the request with this label name must carry the value, and
 * there must be at least one (a request naming a label twice with different
 * values matches neither). */
static bool label_match(const char *const *labels, const char *key, const char *value) {
        size_t kl = strlen(key);
        bool found = false;

        for (size_t i = 0; labels && labels[i]; i++) {
                if (strncmp(labels[i], key, kl) != 0 || labels[i][kl] != '=')
                        continue;
                if (strcmp(labels[i] + kl + 1, value) != 0)
                        return false;
                found = true;
        }
        return found;
}

/* Whether the rule's matchers fit; when not and why is given, says which
 * matcher failed (for `webtty policy explain --verbose`). */
static bool rule_matches(const rule *ru, const policy_caller *caller, bool authed, const policy_request *req,
                         char *why, size_t why_size) {
        char q[80];

        if (ru->unauthenticated != !authed) {
                if (why)
                        fmt_into(why, why_size, "%s",
                                 authed ? "matches only unauthenticated sessions"
                                        : "does not match unauthenticated sessions");
                return false;
        }
        if (ru->clients.n) {
                bool any = false;

                for (size_t i = 0; !any && i < ru->clients.n; i++)
                        any = present(caller->client_name) &&
                              glob_match(ru->clients.v[i], caller->client_name);
                if (!any) {
                        if (why) {
                                quote_for_log(caller->client_name, 64, q, sizeof(q));
                                fmt_into(why, why_size, "client \"%s\" does not match client", q);
                        }
                        return false;
                }
        }
        if (ru->n_key_ids) {
                bool any = false;

                for (size_t i = 0; !any && i < ru->n_key_ids; i++)
                        any = memcmp(ru->key_ids[i], caller->key_id, KEY_ID_LEN) == 0;
                if (!any) {
                        if (why)
                                fmt_into(why, why_size, "key id is not in key_id");
                        return false;
                }
        }
        if (ru->principals.n) {
                bool any = false;

                for (size_t i = 0; !any && i < ru->principals.n; i++)
                        any = present(caller->principal_id) &&
                              strcmp(ru->principals.v[i], caller->principal_id) == 0;
                if (!any) {
                        if (why) {
                                quote_for_log(caller->principal_id, 64, q, sizeof(q));
                                fmt_into(why, why_size, "principal \"%s\" is not in principal", q);
                        }
                        return false;
                }
        }
        if (ru->devices.n) {
                bool any = false;

                for (size_t i = 0; !any && i < ru->devices.n; i++)
                        any = present(caller->device_id) && strcmp(ru->devices.v[i], caller->device_id) == 0;
                if (!any) {
                        if (why) {
                                quote_for_log(caller->device_id, 64, q, sizeof(q));
                                fmt_into(why, why_size, "device \"%s\" is not in device", q);
                        }
                        return false;
                }
        }
        for (size_t i = 0; i < ru->label_keys.n; i++)
                if (!label_match(req ? req->server_labels : NULL, ru->label_keys.v[i],
                                 ru->label_values.v[i])) {
                        if (why) {
                                quote_for_log(ru->label_keys.v[i], 64, q, sizeof(q));
                                fmt_into(why, why_size, "server label %s is not %s", q,
                                         ru->label_values.v[i]);
                        }
                        return false;
                }
        return true;
}

int policy_rule_trace(const policy *p, size_t index, const policy_caller *caller, const policy_request *req,
                      policy_rule_info *ret) {
        static const policy_caller nobody = {};
        const rule *ru;

        if (!p || !ret || index >= p->n_rules)
                return -EINVAL;
        if (!caller)
                caller = &nobody;
        ru = &p->rules[index];
        memset(ret, 0, sizeof(*ret));
        fmt_into(ret->name, sizeof(ret->name), "%s", ru->name);
        ret->line = ru->line;
        ret->matches = rule_matches(ru, caller, caller->key_id != NULL, req, ret->why, sizeof(ret->why));
        return 0;
}

/* Membership of user in group the way initgroups() sees it: the primary
 * group counts. 1: member, 0: not, -ENOENT: no such user, <0: lookup error. */
static int user_in_groups(const char *user, const strv *groups, const char **ret_group) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ gid_t *list = NULL;
        struct passwd pw, *pwp = NULL;
        size_t bufsize = 4096;
        int n = 64, r;

        for (;;) {
                char *nb = realloc(buf, bufsize);

                if (!nb)
                        return -ENOMEM;
                buf = nb;
                r = getpwnam_r(user, &pw, buf, bufsize, &pwp);
                if (r != ERANGE || bufsize >= 1024 * 1024)
                        break;
                bufsize *= 2;
        }
        if (r != 0)
                return -r;
        if (!pwp)
                return -ENOENT;
        for (;;) {
                int want = n;
                gid_t *nl = reallocarray(list, (size_t) n, sizeof(gid_t));

                if (!nl)
                        return -ENOMEM;
                list = nl;
                if (getgrouplist(user, pw.pw_gid, list, &n) >= 0)
                        break;
                if (n <= want)
                        n = want * 2;
                if (n > GROUPS_MAX)
                        return -E2BIG;
        }
        for (size_t g = 0; g < groups->n; g++) {
                _cleanup_free_ char *gbuf = NULL;
                struct group gr, *grp = NULL;
                size_t gsize = 4096;

                for (;;) {
                        char *nb = realloc(gbuf, gsize);

                        if (!nb)
                                return -ENOMEM;
                        gbuf = nb;
                        r = getgrnam_r(groups->v[g], &gr, gbuf, gsize, &grp);
                        if (r != ERANGE || gsize >= 16 * 1024 * 1024)
                                break;
                        gsize *= 2;
                }
                if (r != 0 && r != ENOENT)
                        return -r;
                if (!grp)
                        continue;
                for (int i = 0; i < n; i++)
                        if (list[i] == grp->gr_gid) {
                                *ret_group = groups->v[g];
                                return 1;
                        }
        }
        return 0;
}

/* Whether a client_user rule lets `user` in; *how says why (for the reason). */
static int client_user_allows(const rule *ru, const char *user, char *how, size_t how_size) {
        const char *group = NULL;
        int r;

        for (size_t i = 0; i < ru->allowed_users.n; i++)
                if (strcmp(ru->allowed_users.v[i], user) == 0) {
                        fmt_into(how, how_size, "listed in users");
                        return 1;
                }
        if (ru->allowed_groups.n == 0) {
                fmt_into(how, how_size, "not listed in users");
                return 0;
        }
        r = user_in_groups(user, &ru->allowed_groups, &group);
        if (r == -ENOENT) {
                fmt_into(how, how_size, "not listed in users, and no such account for a group check");
                return 0;
        }
        if (r < 0) {
                fmt_into(how, how_size, "group lookup failed: %s", strerror(-r));
                return r;
        }
        if (r > 0)
                fmt_into(how, how_size, "member of group %s", group);
        else
                fmt_into(how, how_size, "not listed in users and not a member of an allowed group");
        return r;
}

static void set_rule(policy_decision *d, const rule *ru) {
        fmt_into(d->rule, sizeof(d->rule), "%s", ru->name);
        d->rule_line = ru->line;
}

static void deny(policy_decision *d, const char *who, const rule *ru, const char *fmt, ...) _printf_(4, 5);
static void deny(policy_decision *d, const char *who, const rule *ru, const char *fmt, ...) {
        char tail[384];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(tail, sizeof(tail), fmt, ap);
        va_end(ap);
        d->allow = false;
        d->user[0] = 0;
        d->sudo = false;
        set_rule(d, ru);
        fmt_into(d->reason, sizeof(d->reason), "%s matched rule \"%s\" (line %u): %s", who, ru->name,
                 ru->line, tail);
}

static void allow(policy_decision *d, const char *who, const rule *ru, policy_user_kind kind,
                  const char *user, const char *detail) {
        d->allow = true;
        d->kind = kind;
        d->sudo = ru->sudo;
        fmt_into(d->user, sizeof(d->user), "%s", user);
        set_rule(d, ru);
        fmt_into(d->reason, sizeof(d->reason), "%s matched rule \"%s\" (line %u): user %s%s%s", who,
                 ru->name, ru->line, user, detail, ru->sudo ? ", sudo" : "");
}

int policy_decide(const policy *p, const policy_caller *caller, const policy_request *req,
                  policy_decision *ret) {
        static const policy_caller nobody = {};
        static const policy_request none = {};
        char who[160], requested[80];
        const char *want;
        bool authed;

        if (!ret)
                return -EINVAL;
        memset(ret, 0, sizeof(*ret));
        if (!caller)
                caller = &nobody;
        if (!req)
                req = &none;
        authed = caller->key_id != NULL;
        if (authed) {
                char name[80], hex[2 * KEY_ID_LEN + 1];

                quote_for_log(caller->client_name, 64, name, sizeof(name));
                sodium_bin2hex(hex, sizeof(hex), caller->key_id, KEY_ID_LEN);
                hex[KEY_ID_SHORT_HEX] = 0;
                fmt_into(who, sizeof(who), "caller \"%s\" (key %s)", name, hex);
        } else
                fmt_into(who, sizeof(who), "unauthenticated caller");
        if (!p) {
                fmt_into(ret->reason, sizeof(ret->reason), "%s: no policy loaded", who);
                return -EINVAL;
        }
        want = present(req->requested_user) ? req->requested_user : NULL;
        quote_for_log(want, 64, requested, sizeof(requested));

        for (size_t i = 0; i < p->n_rules; i++) {
                const rule *ru = &p->rules[i];
                char mapped[POLICY_NAME_MAX], how[160], detail_buf[POLICY_NAME_MAX + 32];
                _cleanup_free_ char *err = NULL;
                policy_user_kind kind;
                const char *detail = "";
                int r;

                if (!rule_matches(ru, caller, authed, req, NULL, 0))
                        continue;

                switch (ru->action) {
                case ACT_DENY:
                        deny(ret, who, ru, "denied");
                        return 0;
                case ACT_USER:
                        fmt_into(mapped, sizeof(mapped), "%s", ru->user);
                        kind = POLICY_USER_FIXED;
                        break;
                case ACT_DEFAULT:
                        if (!present(req->default_user)) {
                                deny(ret, who, ru,
                                     "maps to the default login user, and none is configured "
                                     "(--login-user)");
                                return 0;
                        }
                        if (!valid_account_name(req->default_user)) {
                                deny(ret, who, ru, "the default login user is not a valid user name");
                                return 0;
                        }
                        fmt_into(mapped, sizeof(mapped), "%s", req->default_user);
                        kind = POLICY_USER_DEFAULT;
                        detail = " (default login user)";
                        break;
                case ACT_TEMPLATE:
                        r = expand(ru->user, caller, NULL, mapped, sizeof(mapped), &err);
                        if (r < 0) {
                                deny(ret, who, ru, "%s", err ? err : "template expansion failed");
                                return 0;
                        }
                        kind = POLICY_USER_TEMPLATE;
                        fmt_into(detail_buf, sizeof(detail_buf), " (template %s)", ru->user);
                        detail = detail_buf;
                        break;
                case ACT_CLIENT_USER: {
                        const char *candidate = want;

                        kind = POLICY_USER_REQUESTED;
                        if (!candidate) {
                                /* No user asked for: the operator's default
                                 * login user, but only if this rule would
                                 * also let a client ask for it. */
                                if (!present(req->default_user) || !valid_account_name(req->default_user)) {
                                        deny(ret, who, ru,
                                             "no user requested, and no default login user is configured "
                                             "(--login-user)");
                                        return 0;
                                }
                                candidate = req->default_user;
                                kind = POLICY_USER_DEFAULT;
                        } else if (!valid_account_name(candidate)) {
                                deny(ret, who, ru, "requested user \"%s\" is not a valid user name",
                                     requested);
                                return 0;
                        }
                        r = client_user_allows(ru, candidate, how, sizeof(how));
                        if (r <= 0) {
                                if (kind == POLICY_USER_DEFAULT)
                                        deny(ret, who, ru,
                                             "no user requested, and the default login user %s is not "
                                             "allowed (%s)",
                                             candidate, how);
                                else
                                        deny(ret, who, ru, "requested user %s is not allowed (%s)",
                                             candidate, how);
                                return 0;
                        }
                        fmt_into(mapped, sizeof(mapped), "%s", candidate);
                        fmt_into(detail_buf, sizeof(detail_buf), " (%s, %s)",
                                 kind == POLICY_USER_DEFAULT ? "default login user" : "requested", how);
                        detail = detail_buf;
                        break;
                }
                default:
                        deny(ret, who, ru, "internal error: rule without action");
                        return 0;
                }
                if (want && strcmp(want, mapped) != 0) {
                        deny(ret, who, ru, "requested user \"%s\" but rule \"%s\" maps to %s", requested,
                             ru->name, mapped);
                        return 0;
                }
                allow(ret, who, ru, kind, mapped, detail);
                return 0;
        }
        fmt_into(ret->reason, sizeof(ret->reason), "%s matched no rule", who);
        return 0;
}
