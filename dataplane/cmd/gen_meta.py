#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Regenerate the command metadata from a redis-server 7.0.

cachalot answers COMMAND, COMMAND INFO and COMMAND DOCS exactly as
redis-server 7.0 does, for the commands it implements.  That metadata
(arity, flags, ACL categories, tips, key specs, summaries, argument lists,
history) is Redis's, published in its src/commands/<name>.json under the
BSD-3-Clause licence; this script copies it from a running redis-server
7.0 (COMMAND INFO / COMMAND DOCS) into checked-in files, so the build never
needs Redis:

  cmd_<family>.def   one CMD/SUB line per command (the routing metadata:
                     arity, flags, ACL categories, tips, getkeys, key specs)
  cmd_docs.c         COMMAND DOCS' argument lists, history, doc flags

Which commands exist is cachalot's decision: the script keeps the names of
the .def lines (and the cachalot-only flags CMD_CLIENT, CMD_ALL_SHARDS,
CMD_HAS_SUBS on them) and rewrites the rest.  A command Redis 7.0 does not
have (CLIENT SETINFO is 7.2's) takes its metadata from EXTRA below.

  dataplane/cmd/gen_meta.py [--port N]   (default: starts redis-server)
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAMILIES = ["cmd_string.def", "cmd_keys.def", "cmd_server.def", "cmd_memory.def"]
OWN_FLAGS = ["CMD_CLIENT", "CMD_ALL_SHARDS", "CMD_HAS_SUBS", "CMD_CONTROL"]

HEADERS = {
    "cmd_string.def": "The string family (handlers in cmd_string.c).",
    "cmd_keys.def": "The generic keyspace family (handlers in cmd_keys.c), plus DBSIZE,\n"
                    " * FLUSHDB and FLUSHALL, which Redis files under \"server\".",
    "cmd_server.def": "Connection and server commands (handlers in cmd_server.c,\n"
                      " * cmd_client.c, cmd_command.c, cmd_config.c, cmd_info.c).",
    "cmd_memory.def": "The MEMORY family (handlers in cmd_memory.c).  MEMORY USAGE names a\n"
                      " * key, so it runs where keyed reads run (cmd.h).",
}

# Commands with a getkeys function (Redis's getkeys_proc) that cachalot has.
GETKEYS = {"set": "route_getkeys_set", "sort": "route_getkeys_sort",
           "migrate": "route_getkeys_migrate"}

# Commands cachalot has and Redis 7.0 lacks: their metadata as Redis 7.2
# declares it (src/commands/client-setinfo.json).
EXTRA = {
    "client|setinfo": (
        ["client|setinfo", 4, ["noscript", "loading", "stale"], 0, 0, 0,
         ["@slow", "@connection"], ["request_policy:all_nodes", "response_policy:all_succeeded"],
         [], []],
        {"summary": "Sets information specific to the client or connection.",
         "since": "7.2.0", "group": "connection", "complexity": "O(1)",
         "arguments": [{"name": "attr", "type": "oneof", "arguments": [
             {"name": "libname", "type": "string", "token": "LIB-NAME"},
             {"name": "libver", "type": "string", "token": "LIB-VER"}]}]}),
}

FLAG_MACROS = {
    "write": "CMD_WRITE", "readonly": "CMD_READONLY", "denyoom": "CMD_DENYOOM",
    "module": "CMD_MODULE", "admin": "CMD_ADMIN", "pubsub": "CMD_PUBSUB",
    "noscript": "CMD_NOSCRIPT", "blocking": "CMD_BLOCKING", "loading": "CMD_LOADING",
    "stale": "CMD_STALE", "skip_monitor": "CMD_SKIP_MONITOR",
    "skip_slowlog": "CMD_SKIP_SLOWLOG", "asking": "CMD_ASKING", "fast": "CMD_FAST",
    "no_auth": "CMD_NO_AUTH", "no_mandatory_keys": "CMD_NO_MANDATORY_KEYS",
    "no_async_loading": "CMD_NO_ASYNC_LOADING", "no_multi": "CMD_NO_MULTI",
    "movablekeys": "CMD_MOVABLE_KEYS", "allow_busy": "CMD_ALLOW_BUSY",
}
KS_FLAGS = ["RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
            "not_key", "incomplete", "variable_flags"]
ARG_FIELDS = ["name", "type", "key_spec_index", "token", "summary", "since",
              "deprecated_since", "flags", "arguments"]
DOC_FIELDS = ["summary", "since", "group", "complexity", "doc_flags",
              "deprecated_since", "replaced_by", "history", "arguments", "subcommands"]


# ---- a RESP3 client ---------------------------------------------------------

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.cmd("HELLO", "3")

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _more(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError
        self.buf += d

    def _read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"("):
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"_":
            return None
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._more()
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v.decode()
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            d = {}
            for _ in range(n):
                k = self._read()
                d[k] = self._read()
            return d
        raise ValueError(line)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self._read()


# ---- the .def lines -----------------------------------------------------------

LINE = re.compile(r"^(CMD|SUB)\((.*)\)\s*$")


def split_top(s):
    """Split a macro's arguments at top-level commas (strings, parens)."""
    parts, depth, cur, q = [], 0, "", False
    i = 0
    while i < len(s):
        ch = s[i]
        if q:
            cur += ch
            if ch == "\\":
                cur += s[i + 1]
                i += 1
            elif ch == '"':
                q = False
        elif ch == '"':
            q = True
            cur += ch
        elif ch in "([{":
            depth += 1
            cur += ch
        elif ch in ")]}":
            depth -= 1
            cur += ch
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    if cur.strip():
        parts.append(cur.strip())
    return parts


def read_def(path):
    """[(parent or None, name, [cachalot flags])] in file order."""
    out = []
    for line in open(path):
        m = LINE.match(line.strip())
        if not m:
            continue
        a = split_top(m.group(2))
        if m.group(1) == "CMD":
            parent, name, flags = None, a[0], a[2]
        else:
            parent, name, flags = a[0], a[1], a[3]
        own = [f for f in OWN_FLAGS if re.search(r"\b%s\b" % f, flags)]
        out.append((parent, name, own))
    return out


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ident(name):
    return name.replace("-", "_")


def fk_text(spec):
    bs, fk = spec["begin_search"], spec["find_keys"]
    if bs["type"] == "index":
        b = "INDEX(%d)" % bs["spec"]["index"]
    elif bs["type"] == "keyword":
        b = "KEYWORD(%s, %d)" % (c_str(bs["spec"]["keyword"]), bs["spec"]["startfrom"])
    else:
        b = "UNKNOWN_BEGIN"
    if fk["type"] == "range":
        f = "RANGE(%d, %d, %d)" % (fk["spec"]["lastkey"], fk["spec"]["keystep"],
                                   fk["spec"]["limit"])
    elif fk["type"] == "keynum":
        f = "KEYNUM(%d, %d, %d)" % (fk["spec"]["keynumidx"], fk["spec"]["firstkey"],
                                    fk["spec"]["keystep"])
    else:
        f = "UNKNOWN_FIND"
    flags = " | ".join(x.upper() for x in spec["flags"]) or "0"
    for x in spec["flags"]:
        assert x in KS_FLAGS, x
    if "notes" in spec:
        return "KSN(%s, %s, %s, %s)" % (c_str(spec["notes"]), flags, b, f)
    assert set(spec) == {"flags", "begin_search", "find_keys"}, spec
    return "KS(%s, %s, %s)" % (flags, b, f)


def def_line(parent, name, own, info, doc):
    full, arity, flags, _f, _l, _s, acl, tips, specs, _subs = info
    fl = [FLAG_MACROS[f] for f in flags] + own
    acls = [("CMD_ACL_" + a[1:].upper()) for a in acl]
    t = "TIPS(%s)" % ", ".join(c_str(x) for x in tips) if tips else "NOTIPS"
    movable = "movablekeys" in flags or any(
        "variable_flags" in s["flags"] for s in specs)
    base = full.split("|")[0] if parent is None else full
    gk = GETKEYS.get(base, "NULL")
    if movable and gk == "NULL" and any(
            s["begin_search"]["type"] == "unknown" or "incomplete" in s["flags"]
            or "variable_flags" in s["flags"] for s in specs):
        sys.exit("gen_meta: %s needs a getkeys function (GETKEYS)" % full)
    args = [str(arity), " | ".join(fl) or "0", " | ".join(acls) or "0", t, gk,
            c_str(doc["group"]), c_str(doc["since"]), c_str(doc["summary"]),
            c_str(doc.get("complexity", ""))] + [fk_text(s) for s in specs]
    if parent is None:
        return "CMD(%s, %s)" % (name, ", ".join(args))
    return "SUB(%s, %s, %s)" % (parent, name, ", ".join(args))


# ---- cmd_docs.c -------------------------------------------------------------

def arg_c(a, depth):
    for k in a:
        assert k in ARG_FIELDS, (k, a)
    f = [".name = %s" % c_str(a["name"]), ".type = %s" % c_str(a["type"]),
         ".key_spec_index = %d" % a.get("key_spec_index", -1)]
    for k in ("token", "summary", "since", "deprecated_since"):
        if k in a:
            f.append(".%s = %s" % (k, c_str(a[k])))
    if a.get("flags"):
        f.append(".flags = " + " | ".join("CMD_ARG_" + x.upper() for x in a["flags"]))
    if "arguments" in a:
        f.append(".args = " + args_c(a["arguments"], depth + 1))
        f.append(".nargs = %d" % len(a["arguments"]))
    return "{" + ", ".join(f) + "}"


def args_c(args, depth):
    pad = "\t" * (depth + 1)
    body = (",\n" + pad).join(arg_c(a, depth) for a in args)
    return "(const struct cmd_arg[]){\n%s%s}" % (pad, body)


def doc_c(cname, doc):
    for k in doc:
        assert k in DOC_FIELDS, (k, cname)
    f = []
    if doc.get("doc_flags"):
        f.append(".doc_flags = " + " | ".join("CMD_DOC_" + x.upper()
                                               for x in doc["doc_flags"]))
    for k in ("deprecated_since", "replaced_by"):
        if k in doc:
            f.append(".%s = %s" % (k, c_str(doc[k])))
    if doc.get("history"):
        f.append(".history = (const char *const[]){%s}" % ", ".join(
            "%s, %s" % (c_str(v), c_str(d)) for v, d in doc["history"]))
        f.append(".nhistory = %d" % len(doc["history"]))
    if "arguments" in doc:
        f.append(".args = " + args_c(doc["arguments"], 1))
        f.append(".nargs = %d" % len(doc["arguments"]))
    body = "".join("\t%s,\n" % x for x in f)
    return "const struct cmd_doc cmd_doc_%s = {\n%s};\n" % (cname, body)


# ---- main -----------------------------------------------------------------

def start_redis():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    sys.exit("gen_meta: redis-server did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    opt = ap.parse_args()
    proc = None
    port = opt.port
    if not port:
        proc, port = start_redis()
    try:
        r = Conn(port)
        ver = r.cmd("INFO", "server").split("redis_version:")[1].split()[0]
        assert ver.startswith("7.0."), "need redis-server 7.0, got " + ver
        docs_out = []
        for fam in FAMILIES:
            path = os.path.join(HERE, fam)
            entries = read_def(path)
            infos, docs = {}, {}
            for parent, name, own in entries:
                full = (parent + "|" if parent else "") + name.replace("_", "-")
                if full in EXTRA:
                    infos[full], docs[full] = EXTRA[full]
                    continue
                info = r.cmd("COMMAND", "INFO", full)[0]
                assert info, "redis-server has no " + full
                infos[full] = info
                docs[full] = r.cmd("COMMAND", "DOCS", full)[full]
            # Lines keep the file's order: redis-server's own order (of its
            # dicts) changes with each process's random hash seed.
            lines = []
            for parent, name, own in entries:
                full = (parent + "|" if parent else "") + name.replace("_", "-")
                lines.append(def_line(parent, name, own, infos[full], docs[full]))
            for parent, name, own in entries:
                full = (parent + "|" if parent else "") + name.replace("_", "-")
                cname = ident((parent + "_" if parent else "") + name)
                d = dict(docs[full])
                d.pop("subcommands", None)
                docs_out.append(doc_c(cname, d))
            with open(path, "w") as f:
                f.write("/* SPDX-License-Identifier: BSD-3-Clause */\n/*\n * %s\n"
                        " *\n * Generated by gen_meta.py from redis-server %s's COMMAND INFO\n"
                        " * and COMMAND DOCS (Redis's src/commands/<name>.json, BSD-3-Clause), plus\n"
                        " * cachalot's own routing flags (CMD_CLIENT, CMD_ALL_SHARDS,\n"
                        " * CMD_HAS_SUBS, CMD_CONTROL): edit the flags or the set of lines, then rerun.\n"
                        " *\n * CMD(name, arity, flags, acl, tips, getkeys, group, since, summary,\n"
                        " *     complexity, key specs...)\n"
                        " * SUB(parent, name, ...the same; arity counts the container word)\n"
                        " */\n" % (HEADERS[fam], ver))
                for ln in lines:
                    f.write(ln + "\n")
        with open(os.path.join(HERE, "cmd_docs.c"), "w") as f:
            f.write("/* SPDX-License-Identifier: BSD-3-Clause */\n/*\n"
                    " * COMMAND DOCS' argument lists, history and doc flags.  Generated by\n"
                    " * gen_meta.py from redis-server %s's COMMAND DOCS (Redis's\n"
                    " * src/commands/<name>.json, BSD-3-Clause); do not edit.\n */\n"
                    "#include \"cmd.h\"\n\n" % ver)
            f.write("\n".join(docs_out))
        subprocess.call(["clang-format", "-i", os.path.join(HERE, "cmd_docs.c")])
    finally:
        if proc:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
