/* Strict JSON on json-c (see jsondoc.h). */
#include "jsondoc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/printbuf.h>
#include <sodium.h>

#include "b64u.h"
#include "errmsg.h"

#define TOKENER_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8)

/* Frees a tokener after zeroing the buffer it collected strings in. json-c
 * publishes struct json_tokener (deprecated for direct use); pb is the only
 * place the tokener copies string contents to. */
static void tokener_free(json_tokener *tok) {
        if (!tok)
                return;
        if (tok->pb && tok->pb->buf && tok->pb->size > 0)
                sodium_memzero(tok->pb->buf, (size_t) tok->pb->size);
        json_tokener_free(tok);
}

static bool json_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses one value from s[0..n): 1 and *ret (NULL for a JSON null) on
 * success, 0 when s ends inside the value, -EBADMSG on a syntax error.
 * *ret_end: bytes consumed. base: offset of s in the document, for messages. */
static int parse_one(const char *s, size_t n, size_t base, const char *prefix, json_object **ret,
                     size_t *ret_end, char **ret_error) {
        enum json_tokener_error e;
        json_tokener *tok;
        json_object *o;
        size_t end;
        int r;

        if (n > INT32_MAX)
                return errmsg_set(ret_error, -EFBIG, "%s: document too large", prefix);
        tok = json_tokener_new();
        if (!tok)
                return errmsg_set(ret_error, -ENOMEM, "%s: %s", prefix, strerror(ENOMEM));
        json_tokener_set_flags(tok, TOKENER_FLAGS);
        o = json_tokener_parse_ex(tok, s, (int) n);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (e == json_tokener_continue) {
                /* A bare number or literal at the very end is only complete
                 * once a delimiter follows. */
                o = json_tokener_parse_ex(tok, " ", 1);
                e = json_tokener_get_error(tok);
                end = n;
        }
        if (e == json_tokener_success) {
                *ret = o;
                *ret_end = end;
                r = 1;
        } else if (e == json_tokener_continue)
                r = 0;
        else
                r = errmsg_set(ret_error, -EBADMSG, "%s: json: %s at offset %zu", prefix,
                               json_tokener_error_desc(e), base + end);
        tokener_free(tok);
        return r;
}

int jsondoc_parse(const void *data, size_t len, const char *prefix, json_object **ret, char **ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL, *extra = NULL;
        const char *s = data;
        size_t end = 0, i, extra_end = 0;
        int r;

        for (i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < 0x20 && !json_space((char) c))
                        return errmsg_set(ret_error, -EBADMSG,
                                          "%s: json: invalid character 0x%02x at offset %zu", prefix, c, i);
        }
        r = parse_one(s, len, 0, prefix, &o, &end, ret_error);
        if (r < 0)
                return r;
        if (r == 0)
                return errmsg_set(ret_error, -EBADMSG, "%s: unexpected EOF", prefix);

        for (i = end; i < len && json_space(s[i]); i++)
                ;
        if (i < len) {
                _cleanup_free_ char *ignored = NULL;

                r = parse_one(s + i, len - i, i, prefix, &extra, &extra_end, &ignored);
                if (r > 0)
                        return errmsg_set(ret_error, -EBADMSG, "%s: multiple JSON values", prefix);
                if (r == 0)
                        return errmsg_set(ret_error, -EBADMSG, "%s: unexpected EOF", prefix);
                return errmsg_set(ret_error, -EBADMSG,
                                  "%s: json: invalid character '%c' after top-level value", prefix,
                                  isprint((unsigned char) s[i]) ? s[i] : '?');
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static const char *go_json_type(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "bool";
        case json_type_double:
        case json_type_int:
                return "number";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "value";
}

static bool digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static int num(const char *s, size_t n) {
        int v = 0;

        for (size_t i = 0; i < n; i++)
                v = v * 10 + (s[i] - '0');
        return v;
}

bool jsondoc_rfc3339_valid(const char *s) {
        static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        size_t n = strlen(s), i;
        int year, month, day;

        /* 2006-01-02T15:04:05 */
        if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
            !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
            s[16] != ':' || !digits(s + 17, 2))
                return false;
        year = num(s, 4);
        month = num(s + 5, 2);
        day = num(s + 8, 2);
        if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1] || num(s + 11, 2) > 23 ||
            num(s + 14, 2) > 59 || num(s + 17, 2) > 59)
                return false;
        if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
                return false;
        i = 19;
        if (s[i] == '.') {
                size_t f = ++i;

                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == f)
                        return false;
        }
        if (s[i] == 'Z')
                return i + 1 == n;
        if ((s[i] == '+' || s[i] == '-') && n - i == 6 && digits(s + i + 1, 2) && s[i + 3] == ':' &&
            digits(s + i + 4, 2))
                return num(s + i + 1, 2) <= 23 && num(s + i + 4, 2) <= 59;
        return false;
}

static int field_type_error(json_object *v, const char *go_struct, const jsondoc_field *f,
                            const char *prefix, char **ret_error) {
        if (json_object_is_type(v, json_type_double) ||
            (json_object_is_type(v, json_type_int) && f->type != JSONDOC_INT))
                return errmsg_set(
                        ret_error, -EBADMSG,
                        "%s: json: cannot unmarshal number %s into Go struct field %s.%s of type %s", prefix,
                        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), go_struct, f->name,
                        f->go_type);
        return errmsg_set(ret_error, -EBADMSG,
                          "%s: json: cannot unmarshal %s into Go struct field %s.%s of type %s", prefix,
                          go_json_type(v), go_struct, f->name, f->go_type);
}

static int check_field(json_object *v, const char *go_struct, const jsondoc_field *f, const char *prefix,
                       char **ret_error) {
        const char *s;

        if (!v) /* null */
                return 0;
        switch (f->type) {
        case JSONDOC_INT:
                if (!json_object_is_type(v, json_type_int))
                        return field_type_error(v, go_struct, f, prefix, ret_error);
                return 0;
        case JSONDOC_STRING:
        case JSONDOC_TIME:
                if (!json_object_is_type(v, json_type_string))
                        return field_type_error(v, go_struct, f, prefix, ret_error);
                s = json_object_get_string(v);
                if (strlen(s) != (size_t) json_object_get_string_len(v))
                        return errmsg_set(ret_error, -EBADMSG, "%s: json: string field %s.%s contains NUL",
                                          prefix, go_struct, f->name);
                if (f->type == JSONDOC_TIME && !jsondoc_rfc3339_valid(s))
                        return errmsg_set(ret_error, -EBADMSG,
                                          "%s: parsing time \"%.64s\" as RFC 3339: invalid", prefix, s);
                return 0;
        case JSONDOC_ARRAY:
                if (!json_object_is_type(v, json_type_array))
                        return field_type_error(v, go_struct, f, prefix, ret_error);
                return 0;
        }
        return 0;
}

int jsondoc_check_object(json_object *o, const char *go_value, const char *go_struct,
                         const jsondoc_field *fields, size_t n_fields, const char *prefix,
                         char **ret_error) {
        int r;

        if (!o)
                return 0;
        if (!json_object_is_type(o, json_type_object))
                return errmsg_set(ret_error, -EBADMSG,
                                  "%s: json: cannot unmarshal %s into Go value of type %s", prefix,
                                  go_json_type(o), go_value);
        json_object_object_foreach(o, key, val) {
                const jsondoc_field *f = NULL;

                for (size_t i = 0; i < n_fields; i++)
                        if (strcmp(fields[i].name, key) == 0) {
                                f = &fields[i];
                                break;
                        }
                if (!f)
                        return errmsg_set(ret_error, -EBADMSG, "%s: json: unknown field \"%.64s\"", prefix,
                                          key);
                r = check_field(val, go_struct, f, prefix, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!o || !json_object_is_type(o, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

const char *jsondoc_get_string(json_object *o, const char *key) {
        json_object *v = member(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

int64_t jsondoc_get_int(json_object *o, const char *key) {
        json_object *v = member(o, key);

        return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

json_object *jsondoc_get_array(json_object *o, const char *key) {
        json_object *v = member(o, key);

        return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static int empty_array_to_string(json_object *jso, struct printbuf *pb, int level, int flags) {
        return printbuf_strappend(pb, "[]");
}

/* Empty arrays print as "[]" (json-c's pretty printer gives "[\n  ]"). */
static void mark_empty_arrays(json_object *o) {
        if (json_object_is_type(o, json_type_array)) {
                size_t n = json_object_array_length(o);

                if (n == 0)
                        json_object_set_serializer(o, empty_array_to_string, NULL, NULL);
                else
                        for (size_t i = 0; i < n; i++)
                                mark_empty_arrays(json_object_array_get_idx(o, i));
        } else if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, val) {
                        (void) key;
                        if (val)
                                mark_empty_arrays(val);
                }
        }
}

int jsondoc_format(json_object *o, bool secret, char **ret, size_t *ret_len) {
        const char *text;
        size_t len;
        char *out;

        mark_empty_arrays(o);
        text = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text)
                return -ENOMEM;
        out = secret ? sodium_malloc(len + 2) : malloc(len + 2);
        if (out) {
                memcpy(out, text, len);
                out[len] = '\n';
                out[len + 1] = 0;
        }
        if (secret)
                sodium_memzero((char *) text, len);
        if (!out)
                return -ENOMEM;
        *ret = out;
        *ret_len = len + 1;
        return 0;
}

void jsondoc_free_text(char *text, size_t len, bool secret) {
        if (!text)
                return;
        if (secret) {
                sodium_free(text);
                return;
        }
        free(text);
}

void jsondoc_wipe(json_object *o) {
        if (!o)
                return;
        switch (json_object_get_type(o)) {
        case json_type_string:
                sodium_memzero((char *) json_object_get_string(o), (size_t) json_object_get_string_len(o));
                break;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        jsondoc_wipe(json_object_array_get_idx(o, i));
                break;
        case json_type_object: {
                json_object_object_foreach(o, key, val) {
                        (void) key;
                        jsondoc_wipe(val);
                }
                break;
        }
        default:
                break;
        }
}

char *jsondoc_quote(const char *s) {
        size_t n = strlen(s);
        char *out = malloc(4 * n + 3), *w = out;

        if (!out)
                return NULL;
        *w++ = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"':
                case '\\':
                        *w++ = '\\';
                        *w++ = (char) *p;
                        break;
                case '\n':
                        *w++ = '\\';
                        *w++ = 'n';
                        break;
                case '\r':
                        *w++ = '\\';
                        *w++ = 'r';
                        break;
                case '\t':
                        *w++ = '\\';
                        *w++ = 't';
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                w += sprintf(w, "\\x%02x", *p);
                        else
                                *w++ = (char) *p;
                }
        }
        *w++ = '"';
        *w = 0;
        return out;
}

int jsondoc_add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int jsondoc_add_string(json_object *o, const char *key, const char *value) {
        return jsondoc_add(o, key, json_object_new_string(value ? value : ""));
}

int jsondoc_add_int(json_object *o, const char *key, int64_t value) {
        return jsondoc_add(o, key, json_object_new_int64(value));
}

int jsondoc_add_b64(json_object *o, const char *key, const uint8_t *data, size_t len) {
        char *text = NULL;
        int r;

        if (b64u_encode(data, len, &text) < 0)
                return -ENOMEM;
        r = jsondoc_add_string(o, key, text);
        sodium_memzero(text, strlen(text));
        free(text);
        return r;
}
