# SPDX-License-Identifier: BSD-3-Clause
"""A tiny raw RESP2/RESP3 client for the integration tests.

redis-py 4.3 (Debian) speaks RESP2 only and strips the "ERR " prefix of error
replies, so every test that checks exact bytes, exact error strings, RESP3
types or connection-close behaviour goes through this module instead.

Replies are decoded to Python values:
  simple string  -> Simple (a str subclass)      bulk string -> bytes
  error          -> Err (an Exception, .msg is the full text, e.g. "ERR syntax error")
  integer        -> int                           null ($-1, *-1, _) -> None
  array / set / push -> list (set -> Set, push -> Push subclasses)
  map            -> Map (a list of (key, value) pairs; keeps order and duplicates)
  double         -> float   boolean -> bool   big number -> int   verbatim -> bytes
"""

import socket
import time


class Simple(str):
    pass


class Err(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg

    def __eq__(self, other):
        return isinstance(other, Err) and other.msg == self.msg

    def __hash__(self):
        return hash(self.msg)

    def __repr__(self):
        return "Err(%r)" % self.msg


class Map(list):
    def as_dict(self):
        return {k: v for k, v in self}


class Set(list):
    pass


class Push(list):
    pass


class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


def encode(*args):
    """Encode one command as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, (int, float)):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Parser:
    """Incremental RESP parser over a byte buffer."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0

    def feed(self, data):
        if self.pos > 1 << 20 and self.pos > len(self.buf) // 2:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += data

    def _line(self, pos):
        end = self.buf.find(b"\r\n", pos)
        if end < 0:
            raise IndexError
        return bytes(self.buf[pos:end]), end + 2

    def _parse(self, pos):
        if pos >= len(self.buf):
            raise IndexError
        t = bytes(self.buf[pos : pos + 1])
        line, pos = self._line(pos + 1)
        if t == b"+":
            return Simple(line.decode()), pos
        if t == b"-":
            return Err(line.decode()), pos
        if t == b":":
            return int(line), pos
        if t == b"(":
            return int(line), pos
        if t == b",":
            return float(line), pos
        if t == b"#":
            return line == b"t", pos
        if t == b"_":
            return None, pos
        if t in (b"$", b"="):
            n = int(line)
            if n < 0:
                return None, pos
            if pos + n + 2 > len(self.buf):
                raise IndexError
            return bytes(self.buf[pos : pos + n]), pos + n + 2
        if t in (b"*", b"~", b">"):
            n = int(line)
            if n < 0:
                return None, pos
            items = []
            for _ in range(n):
                v, pos = self._parse(pos)
                items.append(v)
            cls = {b"*": list, b"~": Set, b">": Push}[t]
            return cls(items), pos
        if t == b"%":
            n = int(line)
            items = Map()
            for _ in range(n):
                k, pos = self._parse(pos)
                v, pos = self._parse(pos)
                items.append((k, v))
            return items, pos
        if t == b"|":  # attribute: skip it, return the value that follows
            n = int(line)
            for _ in range(2 * n):
                _, pos = self._parse(pos)
            return self._parse(pos)
        raise ValueError("bad RESP type byte %r at %d" % (t, pos - 1))

    def get(self):
        """Return (True, value) for a complete reply, (False, None) if more bytes are needed."""
        try:
            v, pos = self._parse(self.pos)
        except IndexError:
            return False, None
        self.pos = pos
        return True, v


class Conn:
    """A blocking raw connection. cmd() sends one command and returns its reply."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = Parser()
        self.port = port

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_cmd(self, *args):
        self.sock.sendall(encode(*args))

    def read(self, timeout=None):
        """Read one reply. Raises Closed on EOF, socket.timeout on timeout."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while True:
                ok, v = self.parser.get()
                if ok:
                    return v
                try:
                    data = self.sock.recv(1 << 16)
                except (ConnectionResetError, BrokenPipeError) as e:
                    raise Closed(str(e))
                if not data:
                    raise Closed("EOF")
                self.parser.feed(data)
        finally:
            if timeout is not None:
                self.sock.settimeout(10.0)

    def cmd(self, *args):
        self.send_cmd(*args)
        return self.read()

    def read_raw(self, n, timeout=10.0):
        """Read exactly n bytes of raw reply (bypassing the parser)."""
        buf = bytearray(self.parser.buf[self.parser.pos :])
        self.parser.buf = bytearray()
        self.parser.pos = 0
        self.sock.settimeout(timeout)
        while len(buf) < n:
            data = self.sock.recv(1 << 16)
            if not data:
                raise Closed("EOF after %d of %d bytes: %r" % (len(buf), n, bytes(buf[-200:])))
            buf += data
        self.sock.settimeout(10.0)
        if len(buf) > n:
            self.parser.feed(bytes(buf[n:]))
        return bytes(buf[:n])

    def read_until_close(self, timeout=5.0):
        """Read everything until the server closes. Returns the bytes; raises
        socket.timeout if the connection stays open past the timeout."""
        buf = bytearray(self.parser.buf[self.parser.pos :])
        self.parser.buf = bytearray()
        self.parser.pos = 0
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("connection still open; got %r" % bytes(buf[:300]))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except (ConnectionResetError, BrokenPipeError):
                return bytes(buf)
            if not data:
                return bytes(buf)
            buf += data

    def is_closed(self, timeout=5.0):
        """True when the server closes the connection within timeout, with
        no further bytes; returns the unexpected bytes otherwise."""
        try:
            rest = self.read_until_close(timeout)
        except socket.timeout:
            return False
        return rest == b"" or rest


def cmd(port, *args):
    """One-shot helper: open, send one command, return reply, close."""
    with Conn(port) as c:
        return c.cmd(*args)
