"""Self-tests of the test-side protocol helpers against webtty-protocol.md Appendix B
(and RFC 6455 section 1.3). These need no daemon."""

import pytest

import wtproto as wp

H = bytes.fromhex

# (encoder output, Appendix B serialized Message hex, Appendix B plain frame hex)
VECTORS = [
    ("ack", lambda: wp.ack(), "1200", "000000021200"),
    ("heartbeat", lambda: wp.heartbeat(), "3a00", "000000023a00"),
    ("client_hello", lambda: wp.client_hello(1), "5a020801", "000000045a020801"),
    ("close0", lambda: wp.close(0), "2200", "000000022200"),
    ("close7", lambda: wp.close(7), "22020807", "0000000422020807"),
    ("close-1", lambda: wp.close(-1), "220b08ffffffffffffffffff01", "0000000d220b08ffffffffffffffffff01"),
    ("stdout_hi", lambda: wp.data(wp.STDOUT, b"hi"), "2a06080112026869", "000000082a06080112026869"),
    ("stdin_hi", lambda: wp.stdin(b"hi"), "2a0412026869", "000000062a0412026869"),
    ("stdin_eos", lambda: wp.stdin_eos(), "2a021a00", "000000042a021a00"),
    ("stdout_eos", lambda: wp.data(wp.STDOUT, eos=True), "2a0408011a00", "000000062a0408011a00"),
    ("stderr_eos", lambda: wp.data(wp.STDERR, eos=True), "2a0408021a00", "000000062a0408021a00"),
    ("resize", lambda: wp.resize(24, 80), "32060a0408181050", "0000000832060a0408181050"),
    ("error", lambda: wp.error("missing open config"),
     "1a150a136d697373696e67206f70656e20636f6e666967",
     "000000171a150a136d697373696e67206f70656e20636f6e666967"),
    ("protocol_error", lambda: wp.protocol_error(6, "WebTTY client signing key is not authorized"),
     "522f0806122b57656254545920636c69656e74207369676e696e67206b6579206973206e6f7420617574686f72697a6564",
     "00000031522f0806122b57656254545920636c69656e74207369676e696e67206b6579206973206e6f7420617574686f72697a6564"),
    ("open", lambda: wp.open_msg(["bash", "-l"], tty=True, interactive=True, env=[("TERM", "xterm-256color")]),
     "0a2a0a280a040801100112046261736812022d6c1a160a045445524d120e787465726d2d323536636f6c6f72",
     "0000002c0a2a0a280a040801100112046261736812022d6c1a160a045445524d120e787465726d2d323536636f6c6f72"),
]


@pytest.mark.parametrize("name,enc,msg_hex,frame_hex", VECTORS, ids=[v[0] for v in VECTORS])
def test_appendix_b_encoding(name, enc, msg_hex, frame_hex):
    got = enc()
    assert got.hex() == msg_hex
    assert wp.plain_frame(got).hex() == frame_hex


def test_appendix_b_decoding():
    m = wp.decode(H("1200"))
    assert m.kind == "ack"
    m = wp.decode(H("3a00"))
    assert m.kind == "heartbeat"
    m = wp.decode(H("2200"))
    assert (m.kind, m.code) == ("close", 0)
    m = wp.decode(H("22020807"))
    assert (m.kind, m.code) == ("close", 7)
    m = wp.decode(H("220b08ffffffffffffffffff01"))
    assert (m.kind, m.code) == ("close", -1)
    m = wp.decode(H("2a06080112026869"))
    assert (m.kind, m.dtype, m.payload, m.eos) == ("data", wp.STDOUT, b"hi", False)
    m = wp.decode(H("2a0412026869"))
    assert (m.kind, m.dtype, m.payload) == ("data", wp.STDIN, b"hi")
    m = wp.decode(H("2a021a00"))
    assert (m.kind, m.dtype, m.eos, m.payload) == ("data", wp.STDIN, True, None)
    m = wp.decode(H("2a0408011a00"))
    assert (m.dtype, m.eos) == (wp.STDOUT, True)
    m = wp.decode(H("2a0408021a00"))
    assert (m.dtype, m.eos) == (wp.STDERR, True)
    m = wp.decode(H("1a150a136d697373696e67206f70656e20636f6e666967"))
    assert (m.kind, m.msg) == ("error", "missing open config")
    m = wp.decode(H("522f0806122b57656254545920636c69656e74207369676e696e67206b6579206973206e6f7420617574686f72697a6564"))
    assert (m.kind, m.code, m.msg) == ("protocol_error", 6, "WebTTY client signing key is not authorized")
    m = wp.decode(H("0a2a0a280a040801100112046261736812022d6c1a160a045445524d120e787465726d2d323536636f6c6f72"))
    assert m.kind == "open"
    assert m.config["options"] == {"interactive": True, "allocate_tty": True, "send_heartbeat": False}
    assert m.config["cmd_args"] == ["bash", "-l"]
    assert m.config["env_vars"] == [("TERM", "xterm-256color")]
    assert m.config["workdir"] is None and m.config["username"] is None


@pytest.mark.parametrize("n,hexv", [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"),
    (2**31 - 1, "ffffffff07"), (2**32 - 1, "ffffffff0f"),
    (-1, "ffffffffffffffffff01"), (-2, "feffffffffffffffff01"),
    (-(2**31), "80808080f8ffffffff01"),
])
def test_varint(n, hexv):
    assert wp.enc_varint(n).hex() == hexv
    v, pos = wp.dec_varint(H(hexv))
    assert pos == len(H(hexv))
    if n < 0:
        assert wp.to_int32(v) == n
    else:
        assert v == n


def test_varint_errors():
    with pytest.raises(wp.DecodeError):
        wp.dec_varint(H("80"))
    with pytest.raises(wp.DecodeError):
        wp.dec_varint(H("ffffffffffffffffffff01"))  # 11 bytes
    with pytest.raises(wp.DecodeError):
        list(wp.iter_fields(H("0a05010203")))  # truncated length-delimited


def test_close_int32_truncation():
    # A 5-byte varint of a negative int32 encoded as uint32 still decodes as int32.
    m = wp.decode(H("220608ffffffff0f"))
    assert m.code == -1


def test_unknown_fields_skipped():
    # Unknown varint, fixed64, fixed32 and length-delimited fields around a known payload.
    unknown = (wp.f_varint(99, 12345) + wp.tag(100, wp.WT_I64) + b"\x00" * 8 +
               wp.tag(101, wp.WT_I32) + b"\x01\x02\x03\x04" + wp.f_bytes(102, b"junk"))
    msg = unknown + wp.close(7) + unknown
    m = wp.decode(msg)
    assert (m.kind, m.code) == ("close", 7)
    # Unknown fields inside Data.
    m = wp.decode(wp.f_msg(wp.F_DATA, wp.f_varint(1, 2) + wp.f_varint(77, 1) + wp.f_bytes(2, b"x")))
    assert (m.dtype, m.payload) == (wp.STDERR, b"x")
    # Only unknown fields: no payload.
    assert wp.decode(unknown).kind is None
    assert wp.decode(b"").kind is None


def test_oneof_last_wins():
    m = wp.decode(wp.ack() + wp.close(3))
    assert (m.kind, m.code) == ("close", 3)
    m = wp.decode(wp.f_msg(wp.F_DATA, wp.f_bytes(2, b"a") + wp.f_msg(3, b"")))
    assert m.eos and m.payload is None


def test_open_roundtrip():
    b = wp.open_msg(["sh", "-c", "x"], env=["A=1", ("B", "")], workdir="/tmp", username="root")
    m = wp.decode(b)
    assert m.config["cmd_args"] == ["sh", "-c", "x"]
    assert m.config["env_vars"] == [("A", "1"), ("B", "")]
    assert m.config["workdir"] == "/tmp"
    assert m.config["username"] == "root"
    assert m.config["options"] == {"interactive": False, "allocate_tty": False, "send_heartbeat": False}
    m = wp.decode(wp.open_msg(["id"], username=0))
    assert m.config["username"] == 0
    # Canonical: empty Options is present as 0a 00 inside Config; Username{id:0} as 10 00.
    assert wp.enc_config([], username=0).hex() == "0a002a021000"
    # Open without config is an empty Open.
    assert wp.open_msg(with_config=False).hex() == "0a00"


def test_websocket_accept_rfc6455_example():
    assert wp.ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_mask_roundtrip():
    key = b"\x37\xfa\x21\x3d"
    # RFC 6455 section 5.7: masked "Hello".
    assert wp.mask_bytes(b"Hello", key).hex() == "7f9f4d5158"
    data = bytes(range(256)) * 3 + b"x"
    assert wp.mask_bytes(wp.mask_bytes(data, key), key) == data
    assert wp.mask_bytes(b"", key) == b""
