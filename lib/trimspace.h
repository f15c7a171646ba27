/* Go's strings.TrimSpace on UTF-8 bytes: the transcripts (spec 0, LPS) and the
 * canonical base64url decoder trim "white space" exactly as Go does, i.e.
 * ASCII \t \n \v \f \r and space, plus the Unicode White_Space code points
 * U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F and
 * U+3000. Invalid UTF-8 is never white space. */
#pragma once

#include <stddef.h>

/* The trimmed part of s[0..len) is s[*ret_off .. *ret_off + *ret_len). */
void trim_space(const char *s, size_t len, size_t *ret_off, size_t *ret_len);
