# SPDX-License-Identifier: BSD-3-Clause
"""cachalot-only behaviour (skipped unless SERVER_KIND=cachalot): the workers parameter,
and the same data path with one worker and with more workers than cores."""

import os

import pytest

import resp
import server as srvmod
from helpers import err, key_per_slot, send_in_thread

pytestmark = pytest.mark.cachalot_only


def test_workers_config(server, raw):
    want = os.environ.get("CACHALOT_WORKERS", "2")
    assert raw.cmd("CONFIG", "GET", "workers") == [b"workers", want.encode()]
    assert err(raw, "CONFIG", "SET", "workers", "3") == (
        "ERR CONFIG SET failed (possibly related to argument 'workers') - "
        "can't set immutable config")
    want = srvmod.transport().encode()
    assert raw.cmd("CONFIG", "GET", "transport") == [b"transport", want]


@pytest.mark.parametrize("workers", ["1", "4"])
def test_every_slot_with_n_workers(make_server, workers):
    s = make_server(overrides={"workers": workers}, name="workers%s" % workers)
    with s.raw() as c:
        assert c.cmd("CONFIG", "GET", "workers") == [b"workers", workers.encode()]
        keys = key_per_slot("w")
        send_in_thread(c, b"".join(resp.encode("SET", k, k) for k in keys))
        assert c.read_raw(5 * len(keys), timeout=60) == b"+OK\r\n" * len(keys)
        assert c.cmd("DBSIZE") == len(keys)
        for i in range(0, len(keys), 256):
            chunk = keys[i : i + 256]
            assert c.cmd("MGET", *chunk) == [k.encode() for k in chunk]
        assert c.cmd("DEL", *keys) == len(keys)
