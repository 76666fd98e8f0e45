# SPDX-License-Identifier: BSD-3-Clause
"""requirepass, AUTH, HELLO ... AUTH, and what an unauthenticated client may do."""

import pytest
import redis

import resp
from helpers import err

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, otherwise "
                "the HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                "select the RESP protocol version at the same time")


@pytest.fixture(scope="module")
def authsrv():
    from server import Server

    s = Server(password="s3cret pass", name="auth")
    s.start()
    yield s
    s.stop()


def test_noauth_everything(authsrv):
    with authsrv.raw(auth=False) as c:
        for cmd in (("PING",), ("GET", "a"), ("SET", "a", "b"), ("ECHO", "x"),
                    ("CLIENT", "ID"), ("INFO",), ("COMMAND", "COUNT"), ("DBSIZE",),
                    ("SELECT", "1"), ("SHUTDOWN",)):
            assert err(c, *cmd) == NOAUTH, cmd
        # command lookup comes before the auth check
        assert err(c, "nosuchcommand") == \
            "ERR unknown command 'nosuchcommand', with args beginning with: "
        assert err(c, "HELLO", "3") == HELLO_NOAUTH
        assert err(c, "HELLO") == HELLO_NOAUTH
        assert c.cmd("RESET") == "RESET"  # allowed, still not authenticated
        assert err(c, "GET", "a") == NOAUTH
    assert authsrv.alive()  # the SHUTDOWN above must not have stopped it


def test_wrong_password(authsrv):
    with authsrv.raw(auth=False) as c:
        assert err(c, "AUTH", "wrong") == WRONGPASS
        assert err(c, "AUTH", "default", "wrong") == WRONGPASS
        assert err(c, "AUTH", "nosuchuser", "s3cret pass") == WRONGPASS
        assert err(c, "AUTH", "a", "b", "c") == "ERR syntax error"
        assert err(c, "AUTH") == "ERR wrong number of arguments for 'auth' command"
        assert err(c, "GET", "a") == NOAUTH  # still locked
    bad = authsrv.client(password="wrong")
    with pytest.raises((redis.AuthenticationError, redis.ResponseError), match="WRONGPASS"):
        bad.ping()
    bad.close()


def test_auth_ok(authsrv):
    with authsrv.raw(auth=False) as c:
        assert c.cmd("AUTH", "s3cret pass") == "OK"
        assert c.cmd("SET", "a", "1") == "OK"
        assert c.cmd("GET", "a") == b"1"
        # a later wrong AUTH does not log the client out
        assert err(c, "AUTH", "wrong") == WRONGPASS
        assert c.cmd("GET", "a") == b"1"
    with authsrv.raw(auth=False) as c:
        assert c.cmd("AUTH", "default", "s3cret pass") == "OK"
        assert c.cmd("PING") == "PONG"
    cl = authsrv.client()
    assert cl.get("a") == "1"
    cl.close()


def test_hello_auth(authsrv):
    with authsrv.raw(auth=False) as c:
        assert err(c, "HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
        assert err(c, "GET", "a") == NOAUTH
        v = c.cmd("HELLO", "3", "AUTH", "default", "s3cret pass", "SETNAME", "authed")
        assert isinstance(v, resp.Map) and v.as_dict()[b"proto"] == 3
        assert c.cmd("CLIENT", "GETNAME") == b"authed"
        assert c.cmd("GET", "nosuchkey") is None
        c.send(b"GET nosuchkey\r\n")
        assert c.read_raw(3) == b"_\r\n"  # RESP3 null
        assert err(c, "HELLO", "3", "AUTH", "default") == "ERR Syntax error in HELLO option 'AUTH'"
    with authsrv.raw(auth=False) as c:
        v = c.cmd("HELLO", "2", "AUTH", "default", "s3cret pass")
        assert isinstance(v, list) and dict(zip(v[0::2], v[1::2]))[b"proto"] == 2


def test_reset_logs_out(authsrv):
    with authsrv.raw() as c:
        assert c.cmd("PING") == "PONG"
        assert c.cmd("RESET") == "RESET"
        assert err(c, "PING") == NOAUTH


def test_unauthenticated_size_limits(authsrv):
    """Unauthenticated clients may not announce big requests."""
    with authsrv.raw(auth=False) as c:
        c.send(b"*1048577\r\n")
        assert c.read() == resp.Err("ERR Protocol error: unauthenticated multibulk length")
        assert c.is_closed() is True
    with authsrv.raw(auth=False) as c:
        c.send(b"*1\r\n$16385\r\n")
        assert c.read() == resp.Err("ERR Protocol error: unauthenticated bulk length")
        assert c.is_closed() is True
    with authsrv.raw() as c:
        assert c.cmd("PING") == "PONG"


def test_auth_without_password_configured(raw):
    assert err(raw, "AUTH", "x") == (
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    # the default user has nopass: any password is accepted with a user name
    assert raw.cmd("AUTH", "default", "anything") == "OK"
    v = raw.cmd("HELLO", "3", "AUTH", "default", "anything")
    assert isinstance(v, resp.Map)


def test_requirepass_at_runtime(make_server):
    s = make_server(name="rtpass")
    with s.raw() as admin:
        assert admin.cmd("CONFIG", "SET", "requirepass", "newpass") == "OK"
        assert admin.cmd("CONFIG", "GET", "requirepass") == [b"requirepass", b"newpass"]
        assert admin.cmd("PING") == "PONG"  # an existing connection stays authenticated
        with s.raw() as c:
            assert err(c, "PING") == NOAUTH
            assert c.cmd("AUTH", "newpass") == "OK"
            assert c.cmd("PING") == "PONG"
        assert admin.cmd("CONFIG", "SET", "requirepass", "") == "OK"
        with s.raw() as c:
            assert c.cmd("PING") == "PONG"
