/* Strict JSON documents on json-c for the WebTTY files (host spec §0.3):
 * one value, no unknown fields, Go-compatible error texts, Go-compatible
 * output (json.MarshalIndent(v, "", "  ") + "\n").
 *
 * Functions returning int give 0 or a negative errno with the message in
 * *ret_error (errmsg.h). Decode errors are -EBADMSG and read
 * "<prefix>: <cause>", causes being Go's where they can be reproduced:
 *   "json: unknown field \"<key>\""
 *   "json: cannot unmarshal <json type> into Go struct field <S>.<f> of type <T>"
 *   "json: cannot unmarshal <json type> into Go value of type <T>"
 *   "multiple JSON values"
 *   "unexpected EOF"
 * and for syntax errors "json: <json-c's description> at offset <n>". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object, json_object_put);

/* Parses exactly one JSON value from data[0..len). Refused besides syntax
 * errors: control bytes other than \t \n \r anywhere (also raw inside strings,
 * as Go), invalid UTF-8, a byte-order mark, an unterminated value, anything
 * but white space after the value ("multiple JSON values" when it is another
 * complete value). json-c's NaN/Infinity extensions parse as numbers, which no
 * field accepts. The tokener's internal buffer is zeroed before it is freed
 * (the input may hold private keys); *ret's strings are not: see
 * jsondoc_wipe(). */
int jsondoc_parse(const void *data, size_t len, const char *prefix, json_object **ret, char **ret_error);

typedef enum jsondoc_type {
        JSONDOC_INT,    /* Go int: a JSON integer */
        JSONDOC_STRING, /* Go string; a string with an embedded NUL is refused */
        JSONDOC_TIME,   /* Go time.Time: an RFC 3339 string */
        JSONDOC_ARRAY,  /* Go slice */
} jsondoc_type;

typedef struct jsondoc_field {
        const char *name;
        jsondoc_type type;
        const char *go_type; /* for messages: "int", "string", "time.Time", "[]webtty.X" */
} jsondoc_field;

/* Checks that o is an object (null is accepted as the zero value) whose keys
 * are all in fields (exact, case-sensitive names) with the right JSON types;
 * null is accepted for every field (Go leaves the zero value). go_value is the
 * Go type for a non-object o ("webtty.KnownServerKeysFile"); go_struct the
 * struct name for field messages ("KnownServerKeysFile" or, for array
 * elements, "KnownServerKeysFile.known_servers"). */
int jsondoc_check_object(json_object *o, const char *go_value, const char *go_struct,
                         const jsondoc_field *fields, size_t n_fields, const char *prefix, char **ret_error);

/* Accessors for checked objects: absent or null give "" / 0 / NULL. */
const char *jsondoc_get_string(json_object *o, const char *key);
int64_t jsondoc_get_int(json_object *o, const char *key);
json_object *jsondoc_get_array(json_object *o, const char *key);

/* Building documents. Each adds key to o and returns 0 or -ENOMEM;
 * jsondoc_add takes v (NULL: -ENOMEM, as from a failed json_object_new_*),
 * a NULL string is added as "", base64url text is wiped after use (it may
 * encode a key). */
int jsondoc_add(json_object *o, const char *key, json_object *v);
int jsondoc_add_string(json_object *o, const char *key, const char *value);
int jsondoc_add_int(json_object *o, const char *key, int64_t value);
int jsondoc_add_b64(json_object *o, const char *key, const uint8_t *data, size_t len);

/* Serialises o like Go's json.MarshalIndent(o, "", "  ") followed by "\n":
 * two-space indentation, "key": value, "[]" for an empty array, '/' not
 * escaped; object keys in insertion order. With secret, *ret is
 * sodium_malloc'd and json-c's own copy of the text is zeroed; free with
 * jsondoc_free_text(). */
int jsondoc_format(json_object *o, bool secret, char **ret, size_t *ret_len);
void jsondoc_free_text(char *text, size_t len, bool secret);

/* Zeroes the bytes of every string value in the tree (before
 * json_object_put() of a document that held private keys). */
void jsondoc_wipe(json_object *o);

/* RFC 3339 date-time as Go's time.Parse(time.RFC3339) accepts it
 * (YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), ranges checked). */
bool jsondoc_rfc3339_valid(const char *s);

/* Go's %q of s (malloc'd, with the quotes): printable ASCII as is, '"' and
 * '\' escaped, \n \r \t as such, other bytes below 0x20 and 0x7f as \xNN;
 * bytes >= 0x80 are kept. NULL on ENOMEM. */
char *jsondoc_quote(const char *s);
