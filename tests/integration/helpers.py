# SPDX-License-Identifier: BSD-3-Clause
"""Small helpers shared by the integration tests."""

import binascii
import threading
import time

from resp import Err


def key_slot(key):
    """Redis Cluster hash slot of a key (CRC16-XMODEM of the key or its {hash tag})."""
    if isinstance(key, str):
        key = key.encode()
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1 : e]
    return binascii.crc_hqx(key, 0) % 16384


_slot_keys = {}


def key_per_slot(prefix="k"):
    """A list of 16384 distinct key names, the i-th hashing to slot i."""
    if prefix in _slot_keys:
        return _slot_keys[prefix]
    out = [None] * 16384
    left = 16384
    i = 0
    while left:
        k = "%s:%d" % (prefix, i)
        s = key_slot(k)
        if out[s] is None:
            out[s] = k
            left -= 1
        i += 1
    _slot_keys[prefix] = out
    return out


def spread_keys(n, prefix="k"):
    """n distinct keys whose slots are spread evenly over 0..16383."""
    per = key_per_slot(prefix)
    return [per[(i * 16384) // n] for i in range(n)]


def err(conn, *args):
    """Run a command on a resp.Conn and return its error text; fail if it did not error."""
    v = conn.cmd(*args)
    assert isinstance(v, Err), "expected an error from %r, got %r" % (args, v)
    return v.msg


def wait_for(pred, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            return v
        time.sleep(interval)


def info_text(conn, *sections):
    """INFO over a raw connection, parsed to {field: str} (all sections merged)."""
    text = conn.cmd("INFO", *sections)
    assert isinstance(text, bytes), text
    out = {}
    for line in text.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition(":")
        out[k] = v
    return out


def info_sections(conn, *sections):
    """INFO over a raw connection -> {section-name-lowercase: [field names]}."""
    text = conn.cmd("INFO", *sections).decode()
    out = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("# "):
            cur = line[2:].strip().lower()
            out[cur] = []
        elif line and cur is not None:
            out[cur].append(line.partition(":")[0])
    return out


def send_in_thread(conn, data, chunk=1 << 16):
    """Send data on a resp.Conn from a thread, so that a server that applies backpressure
    (stops reading while its replies are unread) cannot deadlock the test. Returns
    (thread, errors-list)."""
    errors = []

    def run():
        try:
            for i in range(0, len(data), chunk):
                conn.sock.sendall(data[i : i + chunk])
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors
