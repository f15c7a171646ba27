# tests/tools/: helper programs for the integration tests (never installed).
#
#   wt-forge  a WebTTY client or server that performs the authenticated E2E
#             handshake with lib/ and then breaks it on purpose (a bad
#             signature, a stale proof, a tampered grant, a forged
#             ServerHello...), printing what the peer answered as JSON;
#             driven by tests/integration/test_e2e.py. `make check` builds it;
#             by hand: make tests/tools/wt-forge
check_PROGRAMS += tests/tools/wt-forge
tests_tools_wt_forge_SOURCES = tests/tools/wt-forge.c
tests_tools_wt_forge_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) \
	$(SODIUM_CFLAGS) $(JSONC_CFLAGS)
tests_tools_wt_forge_LDADD = lib/libwebtty.la $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(WSLAY_LIBS) \
	$(HTTP_PARSER_LIBS) $(OPENSSL_LIBS) $(SODIUM_LIBS) $(JSONC_LIBS)
