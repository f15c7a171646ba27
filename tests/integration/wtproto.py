"""Independent WebTTY wire helpers for the integration tests (standard library only).

Three layers:

* a minimal protobuf encoder/decoder for the WebTTY messages the tests need
  (varints including negative int32 as 10-byte varints, length-delimited fields,
  unknown fields skipped on decode);
* transports: a WebSocket client (RFC 6455: handshake with Sec-WebSocket-Accept check,
  masked and optionally fragmented sends, text/ping/close frames, reading server frames
  including the close code and reason) and a plain-stream client (U32 big-endian length
  prefix) over TCP or a unix socket;
* a small session driver that collects what the server sends until the session ends.

Written from the protocol specification (webtty-protocol.md sections 2, 3 and
Appendix B); it deliberately shares no code with the C implementation under test.
"""

import base64
import hashlib
import os
import select
import socket
import struct
import time

# ---------------------------------------------------------------------------
# protobuf wire format
# ---------------------------------------------------------------------------

WT_VARINT, WT_I64, WT_LEN, WT_SGROUP, WT_EGROUP, WT_I32 = 0, 1, 2, 3, 4, 5

# Message.payload field numbers
F_OPEN, F_ACK, F_ERROR, F_CLOSE, F_DATA, F_PARAMETER, F_HEARTBEAT = 1, 2, 3, 4, 5, 6, 7
F_ATTACH, F_SERVER_HELLO, F_PROTOCOL_ERROR, F_CLIENT_HELLO = 8, 9, 10, 11

KIND_BY_FIELD = {
    F_OPEN: "open",
    F_ACK: "ack",
    F_ERROR: "error",
    F_CLOSE: "close",
    F_DATA: "data",
    F_PARAMETER: "parameter",
    F_HEARTBEAT: "heartbeat",
    F_ATTACH: "attach",
    F_SERVER_HELLO: "server_hello",
    F_PROTOCOL_ERROR: "protocol_error",
    F_CLIENT_HELLO: "client_hello",
}

STDIN, STDOUT, STDERR = 0, 1, 2
TYPE_NAMES = {STDIN: "TYPE_STDIN", STDOUT: "TYPE_STDOUT", STDERR: "TYPE_STDERR"}


class DecodeError(Exception):
    pass


def enc_varint(n):
    """Encode an integer as a protobuf varint; negative values use 64-bit two's complement
    (10 bytes), which is how int32/int64 negatives travel on the wire."""
    if n < 0:
        n += 1 << 64
    if n >= 1 << 64:
        raise ValueError("varint out of range")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def dec_varint(buf, pos=0):
    """Decode a varint at buf[pos:]; returns (value, new_pos). Value is unsigned 64-bit."""
    result = 0
    shift = 0
    for i in range(10):
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        if i == 9 and b > 1:
            raise DecodeError("varint overflows 64 bits")
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    raise DecodeError("varint longer than 10 bytes")


def to_int32(v):
    """Interpret a decoded (unsigned 64-bit) varint as int32, as protobuf does."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def tag(num, wt):
    return enc_varint((num << 3) | wt)


def f_varint(num, value):
    return tag(num, WT_VARINT) + enc_varint(value)


def f_bytes(num, value):
    if isinstance(value, str):
        value = value.encode()
    return tag(num, WT_LEN) + enc_varint(len(value)) + bytes(value)


f_msg = f_bytes


def iter_fields(buf):
    """Yield (field_number, wire_type, value) for every field of a serialized message.
    value is an int for varint/fixed fields and bytes for length-delimited ones.
    Groups are rejected (not used by proto3)."""
    buf = bytes(buf)
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = dec_varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise DecodeError("field number 0")
        if wt == WT_VARINT:
            val, pos = dec_varint(buf, pos)
        elif wt == WT_I64:
            if pos + 8 > n:
                raise DecodeError("truncated fixed64")
            val = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wt == WT_I32:
            if pos + 4 > n:
                raise DecodeError("truncated fixed32")
            val = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        elif wt == WT_LEN:
            ln, pos = dec_varint(buf, pos)
            if pos + ln > n:
                raise DecodeError("truncated length-delimited field")
            val = buf[pos : pos + ln]
            pos += ln
        else:
            raise DecodeError("unsupported wire type %d" % wt)
        yield num, wt, val


# ---------------------------------------------------------------------------
# Message builders (each returns a serialized top-level Message)
# ---------------------------------------------------------------------------


def enc_options(interactive=False, allocate_tty=False, send_heartbeat=False):
    out = b""
    if interactive:
        out += f_varint(1, 1)
    if allocate_tty:
        out += f_varint(2, 1)
    if send_heartbeat:
        out += f_varint(3, 1)
    return out


def enc_config(cmd=(), tty=False, interactive=False, heartbeat=False, env=(), workdir=None,
               username=None, options=True):
    """Canonical Config encoding (field order, defaults omitted, sub-messages kept).
    env: iterable of (key, value) pairs or "KEY=VALUE" strings.
    username: str -> name, int -> id."""
    out = b""
    if options:
        out += f_msg(1, enc_options(interactive, tty, heartbeat))
    for a in cmd:
        out += f_bytes(2, a)
    for e in env:
        if isinstance(e, str):
            k, _, v = e.partition("=")
        else:
            k, v = e
        ev = b""
        if k:
            ev += f_bytes(1, k)
        if v:
            ev += f_bytes(2, v)
        out += f_msg(3, ev)
    if workdir is not None:
        out += f_msg(4, f_bytes(1, workdir) if workdir else b"")
    if username is not None:
        if isinstance(username, int):
            out += f_msg(5, f_varint(2, username))
        else:
            out += f_msg(5, f_bytes(1, username))
    return out


def open_msg(cmd=(), tty=False, interactive=False, heartbeat=False, env=(), workdir=None,
             username=None, with_config=True, capabilities=(), extra=b""):
    """Message{open: Open{config...}}. extra is appended raw inside Open (e.g. unknown fields)."""
    body = b""
    if with_config:
        body += f_msg(1, enc_config(cmd, tty, interactive, heartbeat, env, workdir, username))
    if capabilities:
        packed = b"".join(enc_varint(c) for c in capabilities)
        body += f_bytes(2, packed)
    body += extra
    return f_msg(F_OPEN, body)


def ack():
    return f_msg(F_ACK, b"")


def heartbeat():
    return f_msg(F_HEARTBEAT, b"")


def client_hello(version=1):
    return f_msg(F_CLIENT_HELLO, f_varint(1, version) if version else b"")


def error(msg):
    return f_msg(F_ERROR, f_bytes(1, msg) if msg else b"")


def close(code):
    return f_msg(F_CLOSE, f_varint(1, code) if code else b"")


def protocol_error(code, msg):
    body = b""
    if code:
        body += f_varint(1, code)
    if msg:
        body += f_bytes(2, msg)
    return f_msg(F_PROTOCOL_ERROR, body)


def data(dtype, payload=None, eos=False, raw_payload=None):
    """Data message. payload bytes -> field 2; eos -> field 3 (empty EndOfStream);
    neither -> a Data without payload. raw_payload is appended verbatim."""
    body = b""
    if dtype:
        body += f_varint(1, dtype)
    if payload is not None:
        body += f_bytes(2, payload)
    if eos:
        body += f_msg(3, b"")
    if raw_payload:
        body += raw_payload
    return f_msg(F_DATA, body)


def stdin(payload):
    return data(STDIN, payload)


def stdin_eos():
    return data(STDIN, eos=True)


def resize(rows, cols, xpixel=0, ypixel=0):
    ts = b""
    if rows:
        ts += f_varint(1, rows)
    if cols:
        ts += f_varint(2, cols)
    if xpixel:
        ts += f_varint(3, xpixel)
    if ypixel:
        ts += f_varint(4, ypixel)
    return f_msg(F_PARAMETER, f_msg(1, ts))


def parameter_empty():
    return f_msg(F_PARAMETER, b"")


def attach(session_id="", participant_id="", role=0, transport=0):
    body = b""
    if session_id:
        body += f_bytes(1, session_id)
    if participant_id:
        body += f_bytes(2, participant_id)
    if role:
        body += f_varint(4, role)
    if transport:
        body += f_varint(5, transport)
    return f_msg(F_ATTACH, body)


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


class Msg:
    """A decoded top-level Message. kind is one of KIND_BY_FIELD's values or None
    (no known payload). Per-kind attributes:
      data:           dtype (int), payload (bytes or None), eos (bool), encrypted (bool)
      error:          msg (str)
      close:          code (int32)
      protocol_error: code (int), msg (str)
      open:           config (dict or None), raw (bytes)
      others:         raw (bytes of the sub-message)
    """

    def __init__(self, kind, raw=b""):
        self.kind = kind
        self.raw = raw
        self.dtype = None
        self.payload = None
        self.eos = False
        self.encrypted = False
        self.msg = None
        self.code = None
        self.config = None

    def __repr__(self):
        if self.kind == "data":
            what = "eos" if self.eos else ("%d bytes" % len(self.payload) if self.payload is not None else "no payload")
            return "<Data %s %s>" % (TYPE_NAMES.get(self.dtype, self.dtype), what)
        if self.kind == "error":
            return "<Error %r>" % self.msg
        if self.kind == "close":
            return "<Close %d>" % self.code
        if self.kind == "protocol_error":
            return "<ProtocolError %d %r>" % (self.code, self.msg)
        return "<%s>" % self.kind


def _str(b):
    return bytes(b).decode("utf-8", "replace")


def decode_data(buf, m):
    m.dtype = 0
    for num, wt, val in iter_fields(buf):
        if num == 1 and wt == WT_VARINT:
            m.dtype = to_int32(val)
        elif num == 2 and wt == WT_LEN:
            m.payload, m.eos, m.encrypted = bytes(val), False, False
        elif num == 3 and wt == WT_LEN:
            list(iter_fields(val))
            m.payload, m.eos, m.encrypted = None, True, False
        elif num == 4 and wt == WT_LEN:
            m.payload, m.eos, m.encrypted = bytes(val), False, True


def decode_config(buf):
    cfg = {"options": None, "cmd_args": [], "env_vars": [], "workdir": None, "username": None}
    for num, wt, val in iter_fields(buf):
        if num == 1 and wt == WT_LEN:
            o = {"interactive": False, "allocate_tty": False, "send_heartbeat": False}
            for n2, w2, v2 in iter_fields(val):
                if w2 == WT_VARINT and n2 in (1, 2, 3):
                    o[("interactive", "allocate_tty", "send_heartbeat")[n2 - 1]] = bool(v2)
            cfg["options"] = o
        elif num == 2 and wt == WT_LEN:
            cfg["cmd_args"].append(_str(val))
        elif num == 3 and wt == WT_LEN:
            k = v = ""
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_LEN:
                    k = _str(v2)
                elif n2 == 2 and w2 == WT_LEN:
                    v = _str(v2)
            cfg["env_vars"].append((k, v))
        elif num == 4 and wt == WT_LEN:
            w = ""
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_LEN:
                    w = _str(v2)
            cfg["workdir"] = w
        elif num == 5 and wt == WT_LEN:
            u = None
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_LEN:
                    u = _str(v2)
                elif n2 == 2 and w2 == WT_VARINT:
                    u = v2 & 0xFFFFFFFF
            cfg["username"] = u
    return cfg


def decode(buf):
    """Decode a serialized top-level Message. Unknown fields are skipped; if several
    payload members are present the last one wins (protobuf oneof semantics)."""
    m = Msg(None)
    for num, wt, val in iter_fields(buf):
        if num not in KIND_BY_FIELD or wt != WT_LEN:
            continue
        m = Msg(KIND_BY_FIELD[num], bytes(val))
        if num == F_DATA:
            decode_data(val, m)
        elif num == F_ERROR:
            m.msg = ""
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_LEN:
                    m.msg = _str(v2)
        elif num == F_CLOSE:
            m.code = 0
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_VARINT:
                    m.code = to_int32(v2)
        elif num == F_PROTOCOL_ERROR:
            m.code, m.msg = 0, ""
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_VARINT:
                    m.code = to_int32(v2)
                elif n2 == 2 and w2 == WT_LEN:
                    m.msg = _str(v2)
        elif num == F_OPEN:
            for n2, w2, v2 in iter_fields(val):
                if n2 == 1 and w2 == WT_LEN:
                    m.config = decode_config(v2)
        else:
            list(iter_fields(val))  # validate nested encoding
    return m


def plain_frame(msg_bytes):
    return struct.pack(">I", len(msg_bytes)) + msg_bytes


# ---------------------------------------------------------------------------
# Transports
# ---------------------------------------------------------------------------


class Timeout(Exception):
    pass


class HTTPStatusError(Exception):
    def __init__(self, status, reason, headers, body):
        super().__init__("HTTP %d %s" % (status, reason))
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class HandshakeError(Exception):
    pass


class Ended:
    """Returned by recv() when the transport ended. how: 'wsclose' (a close frame was
    received; code/reason set), 'eof' (connection closed without a close frame), or
    'reset' (connection reset)."""

    def __init__(self, how, code=None, reason=None):
        self.how = how
        self.code = code
        self.reason = reason
        self.kind = "ended"

    def __repr__(self):
        if self.how == "wsclose":
            return "<Ended wsclose %r %r>" % (self.code, self.reason)
        return "<Ended %s>" % self.how


class _Conn:
    """Buffered socket with deadline-based reads. The socket keeps a long blocking
    timeout as a safety net for sends; reads use select() against a deadline."""

    SEND_TIMEOUT = 30.0

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(self.SEND_TIMEOUT)
        self.rbuf = bytearray()
        self.eof = False
        self.reset = False
        self.bytes_in = 0
        self.read_chunk = 1 << 18

    def fileno(self):
        return self.sock.fileno()

    def _fill(self, deadline, max_bytes=None):
        """Read at least one chunk; returns False on EOF. Raises Timeout."""
        if self.eof:
            return False
        while True:
            remaining = deadline - time.monotonic() if deadline is not None else None
            if remaining is not None and remaining <= 0:
                raise Timeout()
            r, _, _ = select.select([self.sock], [], [], remaining)
            if not r:
                continue
            try:
                chunk = self.sock.recv(max_bytes or self.read_chunk)
            except (ConnectionResetError, BrokenPipeError):
                self.eof = True
                self.reset = True
                return False
            except BlockingIOError:
                continue
            if not chunk:
                self.eof = True
                return False
            self.bytes_in += len(chunk)
            self.rbuf += chunk
            return True

    def read_exact(self, n, deadline):
        while len(self.rbuf) < n:
            if not self._fill(deadline):
                return None
        out = bytes(self.rbuf[:n])
        del self.rbuf[:n]
        return out

    def sendall(self, b):
        self.sock.sendall(b)

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _deadline(timeout):
    return None if timeout is None else time.monotonic() + timeout


def _connect_tcp(host, port, timeout):
    return socket.create_connection((host, port), timeout=timeout)


def _connect_unix(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def ws_accept_value(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def mask_bytes(payload, key):
    n = len(payload)
    if n == 0:
        return b""
    reps = (key * ((n + 3) // 4))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(reps, "big")).to_bytes(n, "big")


def http_request(host, port, path="/", headers=None, timeout=5.0, method="GET"):
    """Send a plain HTTP request (no upgrade) and return (status, headers, body-prefix)."""
    s = _connect_tcp(host, port, timeout)
    try:
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port)]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        c = _Conn(s)
        return _read_http_response(c, _deadline(timeout))
    finally:
        s.close()


def _read_http_response(c, deadline):
    while b"\r\n\r\n" not in c.rbuf:
        if not c._fill(deadline):
            if not c.rbuf:
                raise HandshakeError("connection closed before any HTTP response")
            raise HandshakeError("connection closed inside HTTP response head: %r" % bytes(c.rbuf))
        if len(c.rbuf) > 65536:
            raise HandshakeError("HTTP response head too large")
    idx = c.rbuf.index(b"\r\n\r\n")
    head = bytes(c.rbuf[:idx]).decode("iso-8859-1")
    del c.rbuf[: idx + 4]
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HandshakeError("bad status line %r" % lines[0])
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, reason, hdrs


class WSClient:
    """RFC 6455 client. Use send() for one binary WebTTY Message (optionally fragmented)
    and recv() for the next server Message (a Msg) or an Ended."""

    transport = "websocket"

    def __init__(self, host, port, path="/", token=None, origin=None, headers=None,
                 timeout=5.0, auth_header=None, host_header=None):
        self.host, self.port, self.path = host, port, path
        s = _connect_tcp(host, port, timeout)
        self.c = _Conn(s)
        self.closed_sent = False
        self.close_received = None
        self.pongs = []
        self.frames_in = []  # (fin, opcode) of every data/control frame, for inspection
        self.record_frames = False
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET %s HTTP/1.1" % path,
            "Host: %s" % (host_header or "%s:%d" % (host, port)),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: %s" % key,
            "Sec-WebSocket-Version: 13",
        ]
        if auth_header is not None:
            lines.append("Authorization: %s" % auth_header)
        elif token is not None:
            lines.append("Authorization: Bearer %s" % token)
        if origin is not None:
            lines.append("Origin: %s" % origin)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        try:
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            status, reason, hdrs = _read_http_response(self.c, _deadline(timeout))
        except BaseException:
            self.c.close()
            raise
        self.status = status
        self.response_headers = hdrs
        if status != 101:
            body = bytes(self.c.rbuf)
            self.c.close()
            raise HTTPStatusError(status, reason, hdrs, body)
        try:
            if hdrs.get("upgrade", "").lower() != "websocket":
                raise HandshakeError("missing Upgrade: websocket in 101 response")
            if "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
                raise HandshakeError("missing Connection: Upgrade in 101 response")
            if hdrs.get("sec-websocket-accept") != ws_accept_value(key):
                raise HandshakeError("bad Sec-WebSocket-Accept %r" % hdrs.get("sec-websocket-accept"))
            if "sec-websocket-protocol" in hdrs:
                raise HandshakeError("server selected a subprotocol %r" % hdrs["sec-websocket-protocol"])
            if "sec-websocket-extensions" in hdrs:
                raise HandshakeError("server selected extensions %r" % hdrs["sec-websocket-extensions"])
        except BaseException:
            self.c.close()
            raise

    # -- raw frames --------------------------------------------------------
    def send_frame(self, opcode, payload=b"", fin=True, masked=True, rsv=0):
        payload = bytes(payload)
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", b0, (0x80 if masked else 0) | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, (0x80 if masked else 0) | 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, (0x80 if masked else 0) | 127, n)
        if masked:
            key = os.urandom(4)
            self.c.sendall(hdr + key + mask_bytes(payload, key))
        else:
            self.c.sendall(hdr + payload)

    def send(self, msg_bytes, fragment=None):
        """Send one binary message; fragment=N splits it into frames of N bytes
        (first frame binary FIN=0, then continuation frames)."""
        if not fragment or len(msg_bytes) <= fragment:
            self.send_frame(OP_BINARY, msg_bytes)
            return
        chunks = [msg_bytes[i : i + fragment] for i in range(0, len(msg_bytes), fragment)]
        self.send_fragments(chunks)

    def send_fragments(self, chunks, opcode=OP_BINARY, between=None):
        """Send a message as the given list of fragments. between(i) is called after
        fragment i (except the last) and may send control frames."""
        for i, ch in enumerate(chunks):
            last = i == len(chunks) - 1
            self.send_frame(opcode if i == 0 else OP_CONT, ch, fin=last)
            if between is not None and not last:
                between(i)

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def send_ping(self, payload=b""):
        self.send_frame(OP_PING, payload)

    def send_close(self, code=1000, reason="done"):
        if self.closed_sent:
            return
        self.closed_sent = True
        body = b"" if code is None else struct.pack("!H", code) + reason.encode()
        try:
            self.send_frame(OP_CLOSE, body)
        except OSError:
            pass

    def recv_frame(self, deadline):
        """Returns (fin, opcode, payload) or None on EOF."""
        hdr = self.c.read_exact(2, deadline)
        if hdr is None:
            return None
        b0, b1 = hdr
        fin = bool(b0 & 0x80)
        if b0 & 0x70:
            raise HandshakeError("server frame with RSV bits 0x%x" % (b0 & 0x70))
        opcode = b0 & 0x0F
        if b1 & 0x80:
            raise HandshakeError("server frame is masked")
        n = b1 & 0x7F
        if n == 126:
            ext = self.c.read_exact(2, deadline)
            if ext is None:
                return None
            n = struct.unpack("!H", ext)[0]
        elif n == 127:
            ext = self.c.read_exact(8, deadline)
            if ext is None:
                return None
            n = struct.unpack("!Q", ext)[0]
        payload = self.c.read_exact(n, deadline) if n else b""
        if payload is None:
            return None
        if self.record_frames:
            self.frames_in.append((fin, opcode, n))
        return fin, opcode, payload

    def recv_raw(self, timeout=5.0):
        """Next complete server message: ('binary', bytes), ('text', bytes),
        or an Ended. Pings are answered; pongs are recorded."""
        deadline = _deadline(timeout)
        parts = []
        first_op = None
        while True:
            fr = self.recv_frame(deadline)
            if fr is None:
                return Ended("reset" if self.c.reset else "eof")
            fin, op, payload = fr
            if op == OP_PING:
                if not self.closed_sent:
                    try:
                        self.send_frame(OP_PONG, payload)
                    except OSError:
                        pass
                continue
            if op == OP_PONG:
                self.pongs.append(payload)
                continue
            if op == OP_CLOSE:
                code = reason = None
                if len(payload) >= 2:
                    code = struct.unpack("!H", payload[:2])[0]
                    reason = payload[2:].decode("utf-8", "replace")
                self.close_received = (code, reason)
                # Echo the close as RFC 6455 requires.
                self.send_close(code if code is not None else 1000, "")
                return Ended("wsclose", code, reason)
            if op in (OP_TEXT, OP_BINARY):
                if first_op is not None:
                    raise HandshakeError("new data frame inside a fragmented message")
                first_op = op
            elif op == OP_CONT:
                if first_op is None:
                    raise HandshakeError("continuation frame without a start frame")
            else:
                raise HandshakeError("reserved opcode %d" % op)
            parts.append(payload)
            if fin:
                return ("binary" if first_op == OP_BINARY else "text"), b"".join(parts)

    def recv(self, timeout=5.0):
        """Next WebTTY Message (Msg) or Ended. A text message is returned as a Msg of kind 'ws_text'."""
        r = self.recv_raw(timeout)
        if isinstance(r, Ended):
            return r
        kind, payload = r
        if kind == "text":
            m = Msg("ws_text", payload)
            return m
        return decode(payload)

    def close(self, code=1000, reason="done", wait=0.0):
        """Send a close frame (if not yet sent) and close the socket, optionally waiting
        up to `wait` seconds for the server's close frame / EOF."""
        self.send_close(code, reason)
        if wait:
            deadline = _deadline(wait)
            try:
                while self.close_received is None:
                    fr = self.recv_frame(deadline)
                    if fr is None:
                        break
                    if fr[1] == OP_CLOSE:
                        break
            except (Timeout, HandshakeError, OSError):
                pass
        self.c.close()

    def abort(self):
        """Drop the TCP connection without a close frame."""
        self.c.close()

    @property
    def bytes_in(self):
        return self.c.bytes_in


class PlainClient:
    """Length-prefixed (U32 big-endian) WebTTY stream over TCP or a unix socket."""

    transport = "plain"

    def __init__(self, host=None, port=None, unix=None, timeout=5.0):
        if unix is not None:
            s = _connect_unix(unix, timeout)
        else:
            s = _connect_tcp(host, port, timeout)
        self.c = _Conn(s)

    @classmethod
    def from_socket(cls, sock):
        """Wrap an already connected socket (e.g. the server side of a fake server)."""
        self = cls.__new__(cls)
        self.c = _Conn(sock)
        return self

    def send(self, msg_bytes, fragment=None):
        frame = plain_frame(msg_bytes)
        if fragment:
            for i in range(0, len(frame), fragment):
                self.c.sendall(frame[i : i + fragment])
        else:
            self.c.sendall(frame)

    def send_raw(self, b):
        self.c.sendall(b)

    def recv_raw(self, timeout=5.0):
        deadline = _deadline(timeout)
        hdr = self.c.read_exact(4, deadline)
        if hdr is None:
            if self.c.rbuf:
                raise DecodeError("EOF inside a frame header")
            return Ended("reset" if self.c.reset else "eof")
        n = struct.unpack(">I", hdr)[0]
        body = self.c.read_exact(n, deadline) if n else b""
        if body is None:
            raise DecodeError("EOF inside a frame body")
        return "binary", body

    def recv(self, timeout=5.0):
        r = self.recv_raw(timeout)
        if isinstance(r, Ended):
            return r
        return decode(r[1])

    def close(self, *args, **kwargs):
        self.c.close()

    def abort(self):
        self.c.close()

    @property
    def bytes_in(self):
        return self.c.bytes_in


# ---------------------------------------------------------------------------
# Session driver
# ---------------------------------------------------------------------------


class Result:
    def __init__(self):
        self.msgs = []  # every Msg received, in order
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.eos = {STDOUT: 0, STDERR: 0}
        self.close_code = None
        self.error = None
        self.protocol_error = None
        self.heartbeats = 0
        self.ended = None  # the Ended that finished the transport, if seen
        self.acked = False

    def kinds(self):
        return [m.kind for m in self.msgs]

    def __repr__(self):
        return "<Result close=%r error=%r stdout=%r stderr=%r kinds=%r ended=%r>" % (
            self.close_code, self.error, bytes(self.stdout[:200]), bytes(self.stderr[:200]),
            _squash(self.kinds()), self.ended)


def _squash(kinds):
    out = []
    for k in kinds:
        if out and out[-1][0] == k:
            out[-1][1] += 1
        else:
            out.append([k, 1])
    return ["%s*%d" % (k, n) if n > 1 else k for k, n in out]


def collect(conn, timeout=10.0, result=None, until_close=True, on_msg=None):
    """Receive messages until Close/Error/ProtocolError (then also the transport end
    for WebSocket, briefly) or the transport ends. Raises Timeout on the overall deadline."""
    res = result or Result()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout("session did not finish in %.1fs: %r" % (timeout, res))
        m = conn.recv(remaining)
        if isinstance(m, Ended):
            res.ended = m
            return res
        res.msgs.append(m)
        if on_msg is not None:
            on_msg(m, res)
        if m.kind == "ack":
            res.acked = True
        elif m.kind == "data":
            if m.eos:
                res.eos[m.dtype] = res.eos.get(m.dtype, 0) + 1
            elif m.payload is not None:
                (res.stdout if m.dtype == STDOUT else res.stderr).extend(m.payload)
        elif m.kind == "heartbeat":
            res.heartbeats += 1
        elif m.kind in ("close", "error", "protocol_error"):
            if m.kind == "close":
                res.close_code = m.code
            elif m.kind == "error":
                res.error = m.msg
            else:
                res.protocol_error = (m.code, m.msg)
            if until_close:
                if isinstance(conn, WSClient):
                    # The server follows its terminal message with a close frame.
                    try:
                        nxt = conn.recv(min(3.0, max(0.1, deadline - time.monotonic())))
                        if isinstance(nxt, Ended):
                            res.ended = nxt
                        else:
                            res.msgs.append(nxt)
                    except Timeout:
                        pass
                return res


def check_well_formed(res, tty):
    """Assert the server-side ordering rules of a completed, successful session:
    Ack first and exactly once, no output after a stream's eos, eos exactly once per
    stream before Close, Close last; TTY: stdout only."""
    kinds = res.kinds()
    assert kinds, "no messages"
    assert kinds[0] == "ack", "first message is %s, not Ack: %r" % (kinds[0], _squash(kinds))
    assert kinds.count("ack") == 1, "more than one Ack: %r" % _squash(kinds)
    assert "close" in kinds, "no Close: %r" % res
    ci = kinds.index("close")
    assert ci == len(kinds) - 1, "messages after Close: %r" % _squash(kinds[ci:])
    seen_eos = set()
    for m in res.msgs:
        if m.kind != "data":
            continue
        assert m.dtype in (STDOUT, STDERR), "server sent Data of type %r" % m.dtype
        assert not m.encrypted, "server sent encrypted data without E2E"
        if tty:
            assert m.dtype == STDOUT, "TTY session sent a %s stream" % TYPE_NAMES[m.dtype]
        if m.eos:
            assert m.dtype not in seen_eos, "duplicate eos for %s" % TYPE_NAMES[m.dtype]
            seen_eos.add(m.dtype)
        else:
            assert m.payload is not None, "Data without payload from server"
            assert m.dtype not in seen_eos, "%s data after its eos" % TYPE_NAMES[m.dtype]
            assert len(m.payload) > 0, "empty Data chunk from server"
    want = {STDOUT} if tty else {STDOUT, STDERR}
    assert seen_eos == want, "eos seen for %r, expected %r" % (
        sorted(TYPE_NAMES[t] for t in seen_eos), sorted(TYPE_NAMES[t] for t in want))
