# tests/fuzz/: libFuzzer targets for everything that parses peer bytes.
#
#   fuzz-http-upgrade.c  lib/http_upgrade.c (requests, responses, header values)
#   fuzz-lpframe.c       lib/lpframe.c walking a plain stream, wmsg_unpack per frame
#   fuzz-message.c       lib/wmsg.c: unpack, touch what the daemon reads, re-pack
#   fuzz-websocket.c     lib/transport.c as a WebSocket server over a socketpair
#   fuzz-e2e-grant.c     lib/e2e.c: grants opened with fixed server keys, payloads
#                        decrypted with fixed sessions
#   fuzz-auth-proof.c    lib/auth.c: client proofs checked against a fixed server
#                        context, server hellos against a fixed pinned identity
#   fuzz-identity-json.c lib/identity.c: an endpoint identity document, written back
#   fuzz-truststore-json.c lib/truststore.c: known_servers.json and
#                        authorized_clients/<store>.json documents, written back
#   fuzz-endpoint-text.c lib/identity.c, lib/truststore.c: endpoint identity and
#                        authorized-client key text forms, the env key list
#
# Every build (gcc, `make check`) links each target with fuzz-main.c into
# tests/fuzz/fuzz-<name>-replay, which replays the committed corpus
# tests/fuzz/corpus/<name>/ as an ordinary test. Crashers, once fixed, are
# added to that corpus.
#
# With ./configure --enable-fuzzing CC=clang, tests/fuzz/fuzz-<name> are real
# libFuzzer binaries (-fsanitize=fuzzer,address,undefined, the library
# compiled again with coverage instrumentation); `make fuzz` (or
# tests/fuzz/run-fuzzers.sh [SECONDS]) runs each for FUZZ_SECONDS over a copy
# of its corpus.

FUZZ_LIBS = $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(WSLAY_LIBS) $(HTTP_PARSER_LIBS) $(OPENSSL_LIBS) $(SODIUM_LIBS) \
	$(JSONC_LIBS)
FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) $(SODIUM_CFLAGS) \
	$(JSONC_CFLAGS)
FUZZ_REPLAY_LIBS = lib/libwebtty.la $(FUZZ_LIBS)
FUZZ_CORPUS = $(abs_top_srcdir)/tests/fuzz/corpus

check_PROGRAMS += \
	tests/fuzz/fuzz-http-upgrade-replay \
	tests/fuzz/fuzz-lpframe-replay \
	tests/fuzz/fuzz-message-replay \
	tests/fuzz/fuzz-websocket-replay \
	tests/fuzz/fuzz-identity-json-replay \
	tests/fuzz/fuzz-truststore-json-replay \
	tests/fuzz/fuzz-endpoint-text-replay \
	tests/fuzz/fuzz-e2e-grant-replay \
	tests/fuzz/fuzz-auth-proof-replay
TESTS += \
	tests/fuzz/fuzz-http-upgrade-replay \
	tests/fuzz/fuzz-lpframe-replay \
	tests/fuzz/fuzz-message-replay \
	tests/fuzz/fuzz-websocket-replay \
	tests/fuzz/fuzz-identity-json-replay \
	tests/fuzz/fuzz-truststore-json-replay \
	tests/fuzz/fuzz-endpoint-text-replay \
	tests/fuzz/fuzz-e2e-grant-replay \
	tests/fuzz/fuzz-auth-proof-replay

tests_fuzz_fuzz_http_upgrade_replay_SOURCES = tests/fuzz/fuzz-http-upgrade.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_http_upgrade_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/http-upgrade\"
tests_fuzz_fuzz_http_upgrade_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_http_upgrade_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_lpframe_replay_SOURCES = tests/fuzz/fuzz-lpframe.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_lpframe_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/lpframe\"
tests_fuzz_fuzz_lpframe_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_lpframe_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_message_replay_SOURCES = tests/fuzz/fuzz-message.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_message_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/message\"
tests_fuzz_fuzz_message_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_message_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_websocket_replay_SOURCES = tests/fuzz/fuzz-websocket.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_websocket_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/websocket\"
tests_fuzz_fuzz_websocket_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_websocket_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_e2e_grant_replay_SOURCES = tests/fuzz/fuzz-e2e-grant.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_e2e_grant_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/e2e-grant\"
tests_fuzz_fuzz_e2e_grant_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_e2e_grant_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_auth_proof_replay_SOURCES = tests/fuzz/fuzz-auth-proof.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_auth_proof_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/auth-proof\"
tests_fuzz_fuzz_auth_proof_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_auth_proof_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_identity_json_replay_SOURCES = tests/fuzz/fuzz-identity-json.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_identity_json_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/identity-json\"
tests_fuzz_fuzz_identity_json_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_identity_json_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_truststore_json_replay_SOURCES = tests/fuzz/fuzz-truststore-json.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_truststore_json_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/truststore-json\"
tests_fuzz_fuzz_truststore_json_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_truststore_json_replay_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_endpoint_text_replay_SOURCES = tests/fuzz/fuzz-endpoint-text.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_endpoint_text_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/endpoint-text\"
tests_fuzz_fuzz_endpoint_text_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_endpoint_text_replay_LDADD = $(FUZZ_REPLAY_LIBS)

EXTRA_DIST += tests/fuzz/corpus
dist_noinst_SCRIPTS += tests/fuzz/run-fuzzers.sh

if ENABLE_FUZZING
FUZZ_SANITIZE = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -g -O1 -fno-omit-frame-pointer
FUZZ_LINK = $(AM_LDFLAGS) $(FUZZ_SANITIZE)
FUZZ_LINK_LIBS = tests/fuzz/libwebtty-fuzz.la $(FUZZ_LIBS)

# The library again, with coverage instrumentation but without libFuzzer's
# main(): the same sources as lib/libwebtty.la.
noinst_LTLIBRARIES += tests/fuzz/libwebtty-fuzz.la
tests_fuzz_libwebtty_fuzz_la_SOURCES = $(lib_libwebtty_la_SOURCES)
nodist_tests_fuzz_libwebtty_fuzz_la_SOURCES = $(nodist_lib_libwebtty_la_SOURCES)
tests_fuzz_libwebtty_fuzz_la_CFLAGS = $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined

# Fragments for more targets append to FUZZ_PROGS (inside `if ENABLE_FUZZING`).
FUZZ_PROGS = \
	tests/fuzz/fuzz-http-upgrade \
	tests/fuzz/fuzz-lpframe \
	tests/fuzz/fuzz-message \
	tests/fuzz/fuzz-websocket \
	tests/fuzz/fuzz-identity-json \
	tests/fuzz/fuzz-truststore-json \
	tests/fuzz/fuzz-endpoint-text \
	tests/fuzz/fuzz-e2e-grant \
	tests/fuzz/fuzz-auth-proof

tests_fuzz_fuzz_http_upgrade_SOURCES = tests/fuzz/fuzz-http-upgrade.c
tests_fuzz_fuzz_http_upgrade_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_http_upgrade_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_http_upgrade_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_lpframe_SOURCES = tests/fuzz/fuzz-lpframe.c
tests_fuzz_fuzz_lpframe_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_lpframe_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_lpframe_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_message_SOURCES = tests/fuzz/fuzz-message.c
tests_fuzz_fuzz_message_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_message_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_message_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_websocket_SOURCES = tests/fuzz/fuzz-websocket.c
tests_fuzz_fuzz_websocket_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_websocket_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_websocket_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_e2e_grant_SOURCES = tests/fuzz/fuzz-e2e-grant.c
tests_fuzz_fuzz_e2e_grant_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_e2e_grant_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_e2e_grant_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_auth_proof_SOURCES = tests/fuzz/fuzz-auth-proof.c
tests_fuzz_fuzz_auth_proof_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_auth_proof_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_auth_proof_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_identity_json_SOURCES = tests/fuzz/fuzz-identity-json.c
tests_fuzz_fuzz_identity_json_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_identity_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_identity_json_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_truststore_json_SOURCES = tests/fuzz/fuzz-truststore-json.c
tests_fuzz_fuzz_truststore_json_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_truststore_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_truststore_json_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_endpoint_text_SOURCES = tests/fuzz/fuzz-endpoint-text.c
tests_fuzz_fuzz_endpoint_text_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_endpoint_text_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_endpoint_text_LDADD = $(FUZZ_LINK_LIBS)

endif

# Issue 5 targets: one fragment each (replay test always, libFuzzer binary
# when ENABLE_FUZZING).
include tests/fuzz/loginproto.mk
include tests/fuzz/policy.mk
include tests/fuzz/accounts.mk
include tests/fuzz/login.mk

if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_PROGS)
FUZZ_SECONDS = 30
.PHONY: fuzz
fuzz: $(FUZZ_PROGS)
	BUILDDIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/tests/fuzz/run-fuzzers.sh' $(FUZZ_SECONDS)
endif
