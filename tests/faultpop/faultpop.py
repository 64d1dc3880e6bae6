#!/usr/bin/python3
"""faultpop: a scripted, fault-injecting POP3 server for tests.

Standard library only (Python 3.11), plus ntlm.py next to this file.  It serves a mailbox described by a
scenario file on a loopback address, a unix socket or stdin/stdout, injects
the faults the scenario asks for, keeps the mailbox state across sessions in
a JSON file and writes a JSON-lines log of everything that happened.

The scenario language, the faults, the log and the state file are documented
in README.md next to this file.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
import re
import select
import signal
import socket
import ssl
import stat
import struct
import sys
import time

import ntlm

PROG = "faultpop"
CRLF = b"\r\n"
DEFAULT_MAX_LINE = 65536
SASL_MECHS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER")
OPTIONAL_MECHS = ("NTLM",)          # accepted only when a scenario names them
NTLM_CHALLENGE = ("ok", "garbage", "truncated")
PLAINTEXT_MECHS = ("PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER")
APOP_DEFAULT_GREETING = b"+OK faultpop ready <1896.697170952@faultpop.test>"


class ScenarioError(Exception):
    """A scenario file (or a command-line mailbox source) is invalid."""


class Closed(Exception):
    """The connection is gone: closed by the client, timed out or broken."""


class Dropped(Closed):
    """The server dropped the connection on purpose (a fault)."""


class Quit(Exception):
    """The session ended with QUIT."""


class Lifetime(Exception):
    """--max-lifetime elapsed."""


def printable(b, limit=200):
    """Bytes as a str for logs: UTF-8 where valid, \\xNN elsewhere, truncated."""
    s = b[:limit].decode("utf-8", "backslashreplace")
    if len(b) > limit:
        s += "...(%d bytes)" % len(b)
    return s


def uid_text(b):
    return b.decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------------------
# Scenario files


_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\",
            '"': b'"', "e": b"\x1b"}
_KEY_RE = re.compile(rb"[a-z][a-z0-9-]*")


def tokenize(text):
    """Split one scenario line into tokens.

    Tokens are separated by blanks; a '#' at the start of a token begins a
    comment; double quotes group blanks and allow the escapes \\n \\r \\t \\0
    \\e \\\\ \\" \\xHH.  Returns a list of (bytes, eq) where eq is the index
    of the first '=' found outside quotes, or -1."""
    toks = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
            continue
        if text[i] == "#":
            break
        buf = bytearray()
        eq = -1
        while i < n and text[i] not in " \t\r\n":
            c = text[i]
            if c != '"':
                if c == "=" and eq < 0:
                    eq = len(buf)
                buf += c.encode("utf-8", "surrogateescape")
                i += 1
                continue
            i += 1
            while True:
                if i >= n:
                    raise ScenarioError("unterminated quoted string")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c != "\\":
                    buf += c.encode("utf-8", "surrogateescape")
                    i += 1
                    continue
                e = text[i + 1:i + 2]
                if e == "x":
                    h = text[i + 2:i + 4]
                    if not re.fullmatch(r"[0-9A-Fa-f]{2}", h):
                        raise ScenarioError("bad \\x escape")
                    buf.append(int(h, 16))
                    i += 4
                elif e in _ESCAPES:
                    buf += _ESCAPES[e]
                    i += 2
                else:
                    raise ScenarioError("unknown escape \\%s" % e)
        toks.append((bytes(buf), eq))
    return toks


def split_args(toks):
    """Positional arguments and key=value options of a directive."""
    pos, kw = [], {}
    for tok, eq in toks:
        if eq > 0 and _KEY_RE.fullmatch(tok[:eq]):
            key = tok[:eq].decode()
            if key in kw:
                raise ScenarioError("option %s given twice" % key)
            kw[key] = tok[eq + 1:]
        else:
            pos.append(tok)
    return pos, kw


def as_str(v):
    return v.decode("utf-8", "surrogateescape")


def as_int(v, what, minimum=0):
    if not re.fullmatch(rb"[0-9]+", v):
        raise ScenarioError("%s: not a number: %s" % (what, printable(v)))
    n = int(v)
    if n < minimum:
        raise ScenarioError("%s: must be at least %d" % (what, minimum))
    return n


def as_float(v, what):
    try:
        f = float(v.decode())
    except (ValueError, UnicodeDecodeError):
        raise ScenarioError("%s: not a number: %s" % (what, printable(v)))
    if not f >= 0 or f != f or f == float("inf"):
        raise ScenarioError("%s: must be a finite number >= 0" % what)
    return f


def as_onoff(v, what):
    if v in (b"on", b"yes", b"true"):
        return True
    if v in (b"off", b"no", b"false"):
        return False
    raise ScenarioError("%s: expected on or off, got %s" % (what, printable(v)))


def one_of(v, what, choices):
    s = as_str(v)
    if s not in choices:
        raise ScenarioError("%s: expected one of %s, got %s"
                            % (what, "|".join(choices), s))
    return s


def deterministic_token(n):
    """An OAuth-looking token of exactly n characters (same for every run)."""
    out = bytearray(b"ya29.")
    counter = 0
    while len(out) < n:
        out += base64.urlsafe_b64encode(
            hashlib.sha256(b"faultpop-token-%d" % counter).digest()).rstrip(b"=")
        counter += 1
    return bytes(out[:n])


class Fault:
    """One `fault` directive: a trigger and an action."""

    ACTIONS = {
        # action: allowed options (besides the trigger options)
        "drop": {"at", "at-byte", "rst"},
        "err": {"text", "then", "seconds"},
        "reply": {"line", "raw", "then", "seconds"},
        "stall": {"seconds", "at", "at-byte", "then"},
        "drip": {"interval", "bytes", "at", "at-byte"},
        "no-dot": {"then", "seconds"},
        "long-line": {"bytes", "where", "char", "at-byte"},
        "inject": {"bytes", "where", "at-byte"},
        "burst": {"count", "wait"},
    }
    TRIGGER = {"on", "after", "arg", "nth", "session", "do"}
    POINTS = ("before", "mid-status", "after-status", "mid-body", "no-dot", "after")

    def __init__(self, kw, lineno, text):
        self.lineno = lineno
        self.text = text.strip()
        if "do" not in kw:
            raise ScenarioError("fault needs do=ACTION")
        self.action = one_of(kw["do"], "do", tuple(self.ACTIONS))
        unknown = set(kw) - self.TRIGGER - self.ACTIONS[self.action]
        if unknown:
            raise ScenarioError("fault do=%s: unknown option(s) %s"
                                % (self.action, ", ".join(sorted(unknown))))
        if ("on" in kw) == ("after" in kw):
            raise ScenarioError("fault needs exactly one of on=COMMAND or after=COMMAND")
        self.on = as_str(kw.get("on", kw.get("after"))).upper()
        if not re.fullmatch(r"[A-Z0-9-]+|\*", self.on):
            raise ScenarioError("fault: bad command name %s" % self.on)
        self.arg = kw.get("arg")
        nth = as_str(kw.get("nth", b"1"))
        m = re.fullmatch(r"([0-9]+)(\+?)|\*", nth)
        if not m or (m.group(1) and int(m.group(1)) < 1):
            raise ScenarioError("fault: nth must be N, N+ or *")
        self.nth_from = int(m.group(1)) if m.group(1) else 1
        self.nth_open = nth == "*" or m.group(2) == "+"
        sess = as_str(kw.get("session", b"*"))
        m = re.fullmatch(r"([0-9]+)(\+?)|\*", sess)
        if not m or (m.group(1) and int(m.group(1)) < 1):
            raise ScenarioError("fault: session must be K, K+ or *")
        self.session_from = int(m.group(1)) if m.group(1) else 1
        self.session_open = sess == "*" or m.group(2) == "+"

        # action options with their defaults
        self.at = None
        if "at" in kw:
            self.at = one_of(kw["at"], "at", self.POINTS)
        if "after" in kw:
            if self.at is not None:
                raise ScenarioError("fault: after=COMMAND already means at=after")
            self.at = "after"
        self.at_byte = as_int(kw["at-byte"], "at-byte") if "at-byte" in kw else None
        if self.at is not None and self.at_byte is not None:
            raise ScenarioError("fault: give at= or at-byte=, not both")
        self.rst = as_onoff(kw["rst"], "rst") if "rst" in kw else False
        self.then = as_str(kw.get("then", b"continue"))
        if self.then not in ("continue", "close", "stall"):
            raise ScenarioError("fault: then must be continue, close or stall")
        self.seconds = as_float(kw["seconds"], "seconds") if "seconds" in kw else None
        self.raw = as_onoff(kw["raw"], "raw") if "raw" in kw else False
        self.interval = as_float(kw.get("interval", b"1"), "interval")
        self.count = None
        self.wait = as_float(kw.get("wait", b"2"), "wait")
        self.where = None
        self.data = None
        a = self.action
        if a == "err":
            self.data = kw.get("text", b"-ERR faultpop: injected error")
        elif a == "reply":
            if "line" not in kw:
                raise ScenarioError("fault do=reply needs line=...")
            self.data = kw["line"]
        elif a == "stall":
            if self.seconds is None:
                raise ScenarioError("fault do=stall needs seconds=S")
            if self.then == "stall":
                raise ScenarioError("fault do=stall: then must be continue or close")
        elif a == "drip":
            self.count = as_int(kw["bytes"], "bytes", 1) if "bytes" in kw else None
        elif a == "no-dot":
            if self.then == "continue":
                self.then = "close"
        elif a == "long-line":
            self.count = as_int(kw.get("bytes", b"1048576"), "bytes", 1)
            self.where = one_of(kw.get("where", b"body"), "where", ("status", "body"))
            ch = kw.get("char", b"x")
            if len(ch) != 1 or ch in b"\r\n":
                raise ScenarioError("long-line: char must be one byte, not CR or LF")
            self.data = ch
        elif a == "inject":
            if "bytes" not in kw:
                raise ScenarioError("fault do=inject needs bytes=...")
            self.data = kw["bytes"]
            self.where = one_of(kw.get("where", b"after"), "where",
                                ("before", "status", "body", "after"))
        elif a == "burst":
            self.count = as_int(kw.get("count", b"2"), "count", 1)
        if self.then == "stall" and self.seconds is None:
            self.seconds = 60.0
        if a in ("err", "reply") and self.at is not None:
            raise ScenarioError("fault do=%s replaces the reply; at=/after= make no sense"
                                % a)

    def replaces_command(self):
        """True when the command is not executed at all (the fault replaces it)."""
        if self.action in ("err", "reply"):
            return True
        return self.action == "drop" and self.at_byte is None and self.at in (None, "before")

    def matches(self, verb, args, session):
        if self.on == "*":
            if verb == "GREETING":
                return False
        elif self.on != verb:
            return False
        if self.arg is not None and (not args or args[0] != self.arg):
            return False
        if session < self.session_from or (not self.session_open
                                           and session != self.session_from):
            return False
        return True

    def nth_ok(self, count):
        return count == self.nth_from or (self.nth_open and count > self.nth_from)


class MessageSpec:
    """A message of the mailbox: from a file, inline text, or generated."""

    def __init__(self, uid, data=None, gen_size=None, list_size=None, uidl_omit=False):
        self.uid = uid
        self.key = uid_text(uid)          # the identity used in the state file
        self.index = 0                    # position in the full mailbox (1-based)
        self.data = None
        self.gen_size = None
        self.list_size = list_size
        self.uidl_omit = uidl_omit
        if data is not None:
            self.data = normalise_crlf(data)
            self.size = len(self.data)
            self.wire_len = self.size + sum(1 for line in self.lines() if line[:1] == b".")
        else:
            self.gen_size = max(2, gen_size)
            self.size = self.gen_size
            self.wire_len = self.size      # generated lines never start with a dot

    def lines(self):
        """The message as CRLF-terminated lines, not dot-stuffed."""
        if self.data is not None:
            start = 0
            d = self.data
            while start < len(d):
                end = d.index(b"\n", start) + 1
                yield d[start:end]
                start = end
        else:
            yield from generated_lines(self.uid, self.index, self.gen_size)

    def stuffed_chunks(self, lines=None, chunk=65536):
        """The dot-stuffed message in chunks, without the terminating dot line."""
        buf = bytearray()
        for line in (self.lines() if lines is None else lines):
            if line[:1] == b".":
                buf += b"."
            buf += line
            if len(buf) >= chunk:
                yield bytes(buf)
                buf.clear()
        if buf:
            yield bytes(buf)

    def top_lines(self, k):
        it = self.lines()
        for line in it:
            yield line
            if line == CRLF:
                break
        for _ in range(k):
            line = next(it, None)
            if line is None:
                return
            yield line


def normalise_crlf(data):
    """LF or CRLF line ends -> CRLF; bare CRs are kept; a final line end is added."""
    out = bytearray()
    for piece in data.split(b"\n"):
        if piece.endswith(b"\r"):
            piece = piece[:-1]
        out += piece + CRLF
    if data.endswith(b"\n") or not data:
        del out[-2:]                      # split() made an empty last piece
    return bytes(out)


def generated_lines(uid, index, size):
    """Deterministic message of exactly `size` bytes (CRLF lines)."""
    hdr = [b"From: faultpop <faultpop@example.org>\r\n",
           b"To: user@example.org\r\n",
           b"Subject: faultpop message %d\r\n" % index,
           b"Message-ID: <%d.%s@faultpop.test>\r\n"
           % (index, hashlib.md5(uid).hexdigest()[:12].encode()),
           b"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n",
           CRLF]
    if size < sum(map(len, hdr)) + 2:
        hdr = [b"Subject: m\r\n", CRLF]
        if size < 16:
            hdr = []
    yield from hdr
    n = size - sum(map(len, hdr))
    k = 0
    while n > 0:
        length = 78 if n > 78 else n
        if n - length == 1:
            length -= 1
        text = (b"%06d " % k + b"abcdefghijklmnopqrstuvwxyz" * 3)[:length - 2]
        yield text + CRLF
        n -= length
        k += 1


class Scenario:
    """Everything a scenario file can say, with the defaults."""

    def __init__(self):
        self.path = None
        self.greeting = None
        self.implementation = b"faultpop"
        self.autologout = None
        self.capa = None
        self.capa_after_login = None
        self.capa_command = True
        self.pipelining = True
        self.resp_codes = True
        self.expire = None
        self.login_delay = None
        self.user = b"u"
        self.password = b"p"
        self.token = None
        self.auth_user = True
        self.apop = False
        self.sasl = list(SASL_MECHS)
        self.sasl_advertise = None
        self.sasl_ir = "allow"
        self.sasl_ir_refuse_text = b"-ERR Protocol error. Connection is closed. 10"
        self.sasl_continuation = b"+ "
        self.oauth_error_challenge = False
        self.ntlm_domain = None
        self.ntlm_challenge = "ok"
        self.token_max_length = None
        self.auth_fail_text = b"-ERR [AUTH] Authentication failed."
        self.tls_required = False
        self.tls_required_text = (b"-ERR [AUTH] Plaintext authentication disallowed "
                                  b"on non-secure (SSL/TLS) connections.")
        self.stls = "off"
        self.implicit_tls = False
        self.stls_inject = b"+OK injected\r\n"
        self.stls_refuse_text = b"-ERR [SYS/TEMP] TLS not available right now"
        self.uidl = True
        self.top = True
        self.max_line = DEFAULT_MAX_LINE
        self.messages = []
        self.stat_count = None
        self.stat_size = None
        self.list_size_factor = 1.0
        self.uidl_separator = b" "
        self.uidl_extra = []
        self.list_extra = []
        self.faults = []
        self.expect_exit = []             # one list of acceptable codes per client run
        self.expect_deleted = None
        self.expect_delivered = None
        self.client = {}
        self.description = []

    # -- loading

    @classmethod
    def load(cls, path):
        sc = cls()
        sc.path = path
        base = os.path.dirname(os.path.abspath(path))
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
        header = True
        for lineno, line in enumerate(text.split("\n"), 1):
            stripped = line.strip()
            if header and stripped.startswith("#"):
                sc.description.append(stripped.lstrip("#").strip())
                continue
            if stripped:
                header = False
            try:
                toks = tokenize(line)
                if not toks:
                    continue
                name = toks[0][0].decode("ascii", "replace")
                sc.directive(name, toks[1:], base, lineno, line)
            except ScenarioError as e:
                raise ScenarioError("%s:%d: %s" % (path, lineno, e)) from None
        sc.finish()
        return sc

    def directive(self, name, toks, base, lineno, line):
        meth = getattr(self, "d_" + name.replace("-", "_"), None)
        if name != "fault" and (meth is None or not re.fullmatch(r"[a-z][a-z-]*", name)):
            raise ScenarioError("unknown directive %s" % name)
        if name == "fault":
            pos, kw = split_args(toks)
            if pos:
                raise ScenarioError("fault takes only key=value options")
            self.faults.append(Fault(kw, lineno, line))
        elif name in ("message", "messages", "client"):
            pos, kw = split_args(toks)
            meth(pos, kw, base)
        else:
            # the other directives take plain words, even if they contain '='
            meth([tok for tok, _ in toks])

    @staticmethod
    def _one(pos, name):
        if len(pos) != 1:
            raise ScenarioError("%s takes exactly one argument" % name)
        return pos[0]

    def _onoff(self, pos, name):
        return as_onoff(self._one(pos, name), name)

    def d_greeting(self, pos):
        self.greeting = self._one(pos, "greeting")

    def d_implementation(self, pos):
        self.implementation = b" ".join(pos)

    def d_autologout(self, pos):
        self.autologout = as_float(self._one(pos, "autologout"), "autologout")

    def d_capa(self, pos):
        if not pos:
            raise ScenarioError("capa needs the capability line")
        self.capa = (self.capa or []) + [b" ".join(pos)]

    def d_capa_after_login(self, pos):
        if not pos:
            raise ScenarioError("capa-after-login needs the capability line")
        self.capa_after_login = (self.capa_after_login or []) + [b" ".join(pos)]

    def d_capa_command(self, pos):
        self.capa_command = self._onoff(pos, "capa-command")

    def d_pipelining(self, pos):
        self.pipelining = self._onoff(pos, "pipelining")

    def d_resp_codes(self, pos):
        self.resp_codes = self._onoff(pos, "resp-codes")

    def d_expire(self, pos):
        self.expire = self._one(pos, "expire")

    def d_login_delay(self, pos):
        self.login_delay = self._one(pos, "login-delay")

    def d_user(self, pos):
        self.user = self._one(pos, "user")

    def d_password(self, pos):
        self.password = self._one(pos, "password")

    def d_token(self, pos):
        v = self._one(pos, "token")
        if v.startswith(b"generate="):
            self.token = deterministic_token(as_int(v[9:], "token generate", 1))
        else:
            self.token = v

    def d_auth_user(self, pos):
        self.auth_user = self._onoff(pos, "auth-user")

    def d_apop(self, pos):
        self.apop = self._onoff(pos, "apop")

    def _mechs(self, pos, name):
        if pos == [b"none"]:
            return []
        mechs = [as_str(p).upper() for p in pos]
        for m in mechs:
            if m not in SASL_MECHS + OPTIONAL_MECHS and name == "sasl":
                raise ScenarioError("sasl: unsupported mechanism %s (supported: %s)"
                                    % (m, " ".join(SASL_MECHS + OPTIONAL_MECHS)))
        return mechs

    def d_sasl(self, pos):
        self.sasl = self._mechs(pos, "sasl")

    def d_sasl_advertise(self, pos):
        self.sasl_advertise = self._mechs(pos, "sasl-advertise")

    def d_sasl_initial_response(self, pos):
        self.sasl_ir = one_of(self._one(pos, "sasl-initial-response"),
                              "sasl-initial-response", ("allow", "refuse"))

    def d_sasl_ir_refuse_text(self, pos):
        self.sasl_ir_refuse_text = self._one(pos, "sasl-ir-refuse-text")

    def d_sasl_continuation(self, pos):
        self.sasl_continuation = self._one(pos, "sasl-continuation")

    def d_oauth_error_challenge(self, pos):
        self.oauth_error_challenge = self._onoff(pos, "oauth-error-challenge")

    def d_ntlm_domain(self, pos):
        self.ntlm_domain = self._one(pos, "ntlm-domain")

    def d_ntlm_challenge(self, pos):
        self.ntlm_challenge = one_of(self._one(pos, "ntlm-challenge"), "ntlm-challenge", NTLM_CHALLENGE)

    def d_token_max_length(self, pos):
        self.token_max_length = as_int(self._one(pos, "token-max-length"), "token-max-length")

    def d_auth_fail_text(self, pos):
        self.auth_fail_text = self._one(pos, "auth-fail-text")

    def d_tls_required(self, pos):
        self.tls_required = self._onoff(pos, "tls-required")

    def d_tls_required_text(self, pos):
        self.tls_required_text = self._one(pos, "tls-required-text")

    def d_stls(self, pos):
        if not pos:
            raise ScenarioError("stls needs on, off, refuse or inject")
        self.stls = one_of(pos[0], "stls", ("on", "off", "refuse", "inject"))
        for extra in pos[1:]:
            if self.stls == "inject" and extra.startswith(b"bytes="):
                self.stls_inject = extra[6:]
            else:
                raise ScenarioError("stls: unexpected argument %s" % printable(extra))

    def d_implicit_tls(self, pos):
        self.implicit_tls = self._onoff(pos, "implicit-tls")

    def d_stls_refuse_text(self, pos):
        self.stls_refuse_text = self._one(pos, "stls-refuse-text")

    def d_uidl(self, pos):
        self.uidl = self._onoff(pos, "uidl")

    def d_top(self, pos):
        self.top = self._onoff(pos, "top")

    def d_max_line(self, pos):
        self.max_line = as_int(self._one(pos, "max-line"), "max-line", 16)

    def d_stat_count(self, pos):
        self.stat_count = as_int(self._one(pos, "stat-count"), "stat-count")

    def d_stat_size(self, pos):
        self.stat_size = as_int(self._one(pos, "stat-size"), "stat-size")

    def d_list_size_factor(self, pos):
        self.list_size_factor = as_float(self._one(pos, "list-size-factor"),
                                         "list-size-factor")

    def d_uidl_separator(self, pos):
        self.uidl_separator = self._one(pos, "uidl-separator")

    def d_uidl_extra(self, pos):
        self.uidl_extra.append(b" ".join(pos))

    def d_list_extra(self, pos):
        self.list_extra.append(b" ".join(pos))

    def d_expect_exit(self, pos):
        v = as_str(self._one(pos, "expect-exit"))
        if not re.fullmatch(r"[0-9]+(,[0-9]+)*", v):
            raise ScenarioError("expect-exit: a code or a comma-separated list of codes")
        self.expect_exit.append([int(x) for x in v.split(",")])

    def d_expect_deleted(self, pos):
        if not pos:
            raise ScenarioError("expect-deleted needs all, none or UIDs")
        self.expect_deleted = [uid_text(p) for p in pos]

    def d_expect_delivered(self, pos):
        if not pos:
            raise ScenarioError("expect-delivered needs all, none or UIDs")
        self.expect_delivered = [uid_text(p) for p in pos]

    def d_client(self, pos, kw, base):
        if pos:
            raise ScenarioError("client takes only key=value options")
        for k, v in kw.items():
            self.client[k] = as_str(v)

    def _message_opts(self, kw, allowed):
        unknown = set(kw) - allowed
        if unknown:
            raise ScenarioError("unknown option(s) %s" % ", ".join(sorted(unknown)))

    def d_messages(self, pos, kw, base):
        self._message_opts(kw, {"size", "sizes", "uid-prefix"})
        count = as_int(self._one(pos, "messages"), "messages")
        prefix = kw.get("uid-prefix", b"uid")
        if "sizes" in kw:
            sizes = [as_int(s, "sizes", 2) for s in kw["sizes"].split(b",")]
        else:
            sizes = [as_int(kw.get("size", b"300"), "size", 2)]
        first = len(self.messages) + 1
        for i in range(count):
            uid = prefix + b"%d" % (first + i)
            self.messages.append(MessageSpec(uid, gen_size=sizes[i % len(sizes)]))

    def d_message(self, pos, kw, base):
        self._message_opts(kw, {"uid", "size", "file", "text", "list-size", "uidl"})
        if pos:
            raise ScenarioError("message takes only key=value options")
        uid = kw.get("uid", b"uid%d" % (len(self.messages) + 1))
        sources = [k for k in ("size", "file", "text") if k in kw]
        if len(sources) > 1:
            raise ScenarioError("message: give one of size=, file=, text=")
        data = None
        size = 300
        if "file" in kw:
            fname = os.path.join(base, as_str(kw["file"]))
            try:
                with open(fname, "rb") as fh:
                    data = fh.read()
            except OSError as e:
                raise ScenarioError("message file %s: %s" % (fname, e.strerror))
        elif "text" in kw:
            data = kw["text"]
        elif "size" in kw:
            size = as_int(kw["size"], "size", 2)
        list_size = as_int(kw["list-size"], "list-size") if "list-size" in kw else None
        omit = False
        if "uidl" in kw:
            if kw["uidl"] != b"omit":
                raise ScenarioError("message: uidl= only takes omit")
            omit = True
        self.messages.append(MessageSpec(uid, data=data, gen_size=size,
                                         list_size=list_size, uidl_omit=omit))

    def finish(self):
        if self.token is None:
            self.token = self.password
        if self.sasl_advertise is None:
            self.sasl_advertise = list(self.sasl)
        if self.greeting is None:
            self.greeting = APOP_DEFAULT_GREETING if self.apop else b"+OK faultpop ready"
        number_messages(self.messages)

    # -- derived values

    def apop_timestamp(self):
        m = re.search(rb"<[^<>]*>", self.greeting)
        return m.group(0) if m else None

    def needs_tls(self):
        return self.stls == "on" or self.implicit_tls

    def client_password(self):
        """The secret a test should give the client: client password=, else the
        token for the OAuth mechanisms, else the password."""
        if "password" in self.client:
            return self.client["password"].encode("utf-8", "surrogateescape")
        if self.client.get("auth", "").lower() in ("xoauth2", "oauthbearer"):
            return self.token
        return self.password

    def describe(self):
        return {
            "scenario": self.path,
            "description": self.description,
            "user": uid_text(self.user),
            "password": uid_text(self.password),
            "token_length": len(self.token),
            "sasl": self.sasl,
            "apop": self.apop,
            "stls": self.stls,
            "tls_required": self.tls_required,
            "messages": [{"uid": uid_text(m.uid), "key": m.key, "size": m.size}
                         for m in self.messages],
            "faults": [f.text for f in self.faults],
            "expect_exit": self.expect_exit,
            "expect_deleted": self.expect_deleted,
            "expect_delivered": self.expect_delivered,
            "implicit_tls": self.implicit_tls,
            "client": self.client,
        }


def number_messages(msgs):
    """Set positions and make state keys unique (duplicate UIDs get #2, #3...)."""
    seen = {}
    for i, m in enumerate(msgs, 1):
        m.index = i
        base = uid_text(m.uid)
        seen[base] = seen.get(base, 0) + 1
        m.key = base if seen[base] == 1 else "%s#%d" % (base, seen[base])


def messages_from_dir(path, maildir):
    """Messages from a directory (one file each) or a maildir (cur/ and new/)."""
    files = []
    if maildir:
        for sub in ("cur", "new"):
            d = os.path.join(path, sub)
            if not os.path.isdir(d):
                raise ScenarioError("%s is not a maildir (no %s/)" % (path, sub))
            files += [(n.split(":", 1)[0], os.path.join(d, n)) for n in os.listdir(d)]
    else:
        if not os.path.isdir(path):
            raise ScenarioError("%s is not a directory" % path)
        files = [(n, os.path.join(path, n)) for n in os.listdir(path)]
    msgs = []
    for uid, fname in sorted(files):
        if uid.startswith(".") or not os.path.isfile(fname):
            continue
        with open(fname, "rb") as fh:
            msgs.append(MessageSpec(uid.encode("utf-8", "surrogateescape"), data=fh.read()))
    return msgs


# ---------------------------------------------------------------------------
# State, log


def atomic_write(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class State:
    """Server state kept across sessions (and across runs with --state)."""

    def __init__(self, path, messages):
        self.path = path
        self.all = messages
        self.sessions = 0
        self.deleted = []          # keys of committed-deleted messages, in order
        self.history = []
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            self.sessions = data.get("sessions", 0)
            self.deleted = data.get("deleted", [])
            self.history = data.get("history", [])

    def current(self):
        gone = set(self.deleted)
        return [m for m in self.all if m.key not in gone]

    def commit(self, session, msgs):
        keys = [m.key for m in msgs]
        self.deleted += keys
        self.history.append({"session": session, "committed": keys})
        self.save()

    def save(self):
        if not self.path:
            return
        gone = set(self.deleted)
        data = {
            "version": 1,
            "sessions": self.sessions,
            "deleted": self.deleted,
            "remaining": [m.key for m in self.all if m.key not in gone],
            "history": self.history,
        }
        atomic_write(self.path, (json.dumps(data, indent=1) + "\n").encode())


class Log:
    def __init__(self, path, verbose):
        self.fh = open(path, "a", encoding="utf-8") if path else None
        self.verbose = verbose
        self.session = 0

    def __call__(self, event, **fields):
        rec = {"t": round(time.time(), 3), "session": self.session, "event": event}
        rec.update(fields)
        line = json.dumps(rec, ensure_ascii=False)
        if self.fh:
            self.fh.write(line + "\n")
            self.fh.flush()
        if self.verbose:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


# ---------------------------------------------------------------------------
# Connections


class Conn:
    """A byte stream on a pair of file descriptors, with optional TLS.

    TLS goes through ssl.MemoryBIO, so it works the same on TCP, unix
    sockets and inetd-style pipes.  Every wait has a deadline."""

    def __init__(self, rfd, wfd, sock=None):
        self.rfd, self.wfd, self.sock = rfd, wfd, sock
        for fd in {rfd, wfd}:
            os.set_blocking(fd, False)
        self.rbuf = bytearray()
        self.rx_total = 0       # plaintext bytes ever put into rbuf
        self.tls = None
        self.eof = False
        self.closed = False

    # raw I/O

    def _raw_read(self, deadline):
        """Bytes, b'' at EOF, None when the deadline passed."""
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([self.rfd], [], [], timeout)
            if not r:
                return None
            try:
                return os.read(self.rfd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return b""

    def _raw_write(self, data, deadline):
        mv = memoryview(data)
        while mv:
            timeout = max(0.0, deadline - time.monotonic())
            _, w, _ = select.select([], [self.wfd], [], timeout)
            if not w:
                raise Closed("write timed out (client not reading)")
            try:
                n = os.write(self.wfd, mv)
            except BlockingIOError:
                continue
            except OSError as e:
                raise Closed("write failed: %s" % e.strerror)
            mv = mv[n:]

    # TLS

    def start_tls(self, ctx, deadline):
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_side=True)
        if self.rbuf:
            inc.write(bytes(self.rbuf))
            self.rbuf.clear()
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if out.pending:
                    self._raw_write(out.read(), deadline)
                data = self._raw_read(deadline)
                if data is None:
                    raise Closed("TLS handshake timed out")
                if not data:
                    raise Closed("client closed the connection during the TLS handshake")
                inc.write(data)
            except ssl.SSLError as e:
                try:
                    if out.pending:
                        self._raw_write(out.read(), deadline)
                except Closed:
                    pass
                raise Closed("TLS handshake failed: %s" % e)
        if out.pending:
            self._raw_write(out.read(), deadline)
        self.tls = (obj, inc, out)
        return obj.version(), (obj.cipher() or ("?",))[0]

    # plaintext I/O

    def _read_some(self, deadline):
        if not self.tls:
            return self._raw_read(deadline)
        obj, inc, out = self.tls
        while True:
            try:
                return obj.read(65536)
            except ssl.SSLWantReadError:
                if out.pending:
                    self._raw_write(out.read(), deadline)
                raw = self._raw_read(deadline)
                if raw is None:
                    return None
                if not raw:
                    return b""
                inc.write(raw)
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLError as e:
                raise Closed("TLS error: %s" % e)

    def fill(self, deadline):
        """Read what arrives before the deadline into the buffer.
        False on timeout; raises Closed at EOF."""
        if self.eof:
            raise Closed("client closed the connection")
        data = self._read_some(deadline)
        if data is None:
            return False
        if not data:
            self.eof = True
            raise Closed("client closed the connection")
        self.rbuf += data
        self.rx_total += len(data)
        return True

    def drain(self):
        """Take into the buffer what the client has already sent, without
        waiting (bursts are told apart with it).  EOF and errors are left
        for the next fill."""
        while not self.eof and not self.closed:
            try:
                r, _, _ = select.select([self.rfd], [], [], 0)
                if not r:
                    return
                raw = os.read(self.rfd, 65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not raw:
                self.eof = True
                return
            if not self.tls:
                self.rbuf += raw
                self.rx_total += len(raw)
                continue
            obj, inc, out = self.tls
            inc.write(raw)
            while True:
                try:
                    data = obj.read(65536)
                except ssl.SSLZeroReturnError:
                    self.eof = True
                    return
                except ssl.SSLError:
                    break
                if not data:
                    break
                self.rbuf += data
                self.rx_total += len(data)

    def received_upto(self):
        """How many plaintext bytes the reader has consumed so far."""
        return self.rx_total - len(self.rbuf)

    def has_line(self):
        return b"\n" in self.rbuf

    def readline(self, max_line, deadline):
        """(line without its end, ended_with_crlf), or None if the line was too long
        (it is discarded).  Raises Closed at EOF, TimeoutError at the deadline."""
        overflow = False
        while True:
            i = self.rbuf.find(b"\n")
            if i >= 0:
                line = bytes(self.rbuf[:i])
                del self.rbuf[:i + 1]
                if overflow:
                    return None
                crlf = line.endswith(b"\r")
                if crlf:
                    line = line[:-1]
                if len(line) > max_line:
                    return None
                return line, crlf
            if len(self.rbuf) > max_line + 2:
                overflow = True
                del self.rbuf[:-1]
            if not self.fill(deadline):
                raise TimeoutError()

    def write(self, data, deadline):
        if not data:
            return
        if not self.tls:
            self._raw_write(data, deadline)
            return
        obj, inc, out = self.tls
        for i in range(0, len(data), 16384):
            try:
                obj.write(data[i:i + 16384])
            except ssl.SSLError as e:
                raise Closed("TLS error: %s" % e)
            self._raw_write(out.read(), deadline)

    def close(self, rst=False, linger=5.0):
        """Close the connection.  Normally: send FIN (shutdown for writing),
        then read and discard what the client still sends until it closes or
        `linger` seconds pass, so the kernel never turns the close into a
        reset because of unread pipelined commands (a reset can make the
        client lose data it has not read yet).  With rst: an immediate RST."""
        if self.closed:
            return
        self.closed = True
        if self.sock is not None and rst:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            except OSError:
                pass
        elif not self.eof:
            try:
                if self.sock is not None:
                    self.sock.shutdown(socket.SHUT_WR)
                elif self.wfd != self.rfd:
                    os.close(self.wfd)
                    self.wfd = None
                deadline = time.monotonic() + linger
                while self._raw_read(deadline):
                    pass
            except OSError:
                pass
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        else:
            for fd in {self.rfd, self.wfd} - {None}:
                try:
                    os.close(fd)
                except OSError:
                    pass


# ---------------------------------------------------------------------------
# Replies


class ReplyStream:
    """The bytes of one reply (status line, dot-stuffed body, terminator),
    written piecewise so faults can cut it at any position."""

    def __init__(self, head, body, body_len):
        self.head = head
        self.multiline = body is not None
        self.hs = len(head)
        self.body_len = body_len if self.multiline else 0
        self.total = self.hs + (self.body_len + 3 if self.multiline else 0)
        self.pos = 0
        self._pending = b""
        self._gen = self._pieces(body)

    def _pieces(self, body):
        yield self.head
        if body is not None:
            for chunk in body:
                if chunk:
                    yield chunk
            yield b".\r\n"

    def _next(self):
        if self._pending:
            p, self._pending = self._pending, b""
            return p
        return next(self._gen, b"")

    def write_upto(self, send, limit, line_end=False, mid_line=False):
        """Write until `limit` bytes of the reply are out.  With line_end,
        continue to the end of the line; with mid_line, avoid stopping right
        after a line end when more data follows."""
        last = b""
        while self.pos < limit:
            p = self._next()
            if not p:
                break
            take = min(len(p), limit - self.pos)
            send(p[:take])
            last = p[take - 1:take]
            self._pending = p[take:]
            self.pos += take
        if line_end and last != b"\n" and self.pos > 0:
            while True:
                p = self._next()
                if not p:
                    break
                i = p.find(b"\n")
                if i >= 0:
                    send(p[:i + 1])
                    self._pending = p[i + 1:]
                    self.pos += i + 1
                    break
                send(p)
                self.pos += len(p)
        if mid_line and last == b"\n":
            p = self._next()
            if p:
                send(p[:1])
                self._pending = p[1:]
                self.pos += 1

    def write_rest(self, send):
        buf = bytearray()
        while True:
            p = self._next()
            if p:
                buf += p
                self.pos += len(p)
            if buf and (not p or len(buf) >= 65536):
                send(bytes(buf))
                buf.clear()
            if not p:
                return


def stuffed_lines(lines):
    """Dot-stuff CRLF-less lines for a multi-line reply: (chunks, length)."""
    out = bytearray()
    for line in lines:
        if line[:1] == b".":
            out += b"."
        out += line + CRLF
    return [bytes(out)], len(out)


# ---------------------------------------------------------------------------
# Sessions


class Session:
    def __init__(self, srv, conn, number, peer):
        self.srv = srv
        self.sc = srv.scenario
        self.log = srv.log
        self.conn = conn
        self.number = number
        self.peer = peer
        self.state = "AUTHORIZATION"
        self.tls_active = False
        self.user_given = None
        self.msgs = srv.state.current()
        self.marked = set()
        self.counts = [0] * len(self.sc.faults)
        self.cur_fault = None
        self.verb = "GREETING"
        self.desc = "greeting"
        self.held = None
        self.hold_left = 0
        self.hold_wait = 0.0
        self.rst = False
        self.burst = 0              # bursts of commands (see command())
        self.rx_mark = 0            # bytes received when a reply was last sent
        self.mark_pending = False   # a command was read, no reply sent since
        self.autologout = self.sc.autologout if self.sc.autologout is not None \
            else srv.idle_timeout

    # -- plumbing

    def deadline(self):
        return time.monotonic() + self.autologout

    def mark(self):
        """About to send reply bytes: whatever the client sent up to now, it
        sent without having seen them."""
        if self.mark_pending:
            self.conn.drain()
            self.rx_mark = self.conn.rx_total
            self.mark_pending = False

    def send(self, data):
        if self.held is not None:
            self.held += data
        else:
            self.mark()
            self.conn.write(data, self.deadline())

    def flush_held(self, why):
        if self.held is None:
            return
        data, self.held = bytes(self.held), None
        self.log("burst", bytes=len(data), why=why)
        self.mark()
        self.conn.write(data, self.deadline())

    def stall(self, seconds):
        """Send nothing for `seconds`; ends early (raising Closed) if the client
        closes the connection.  Commands that arrive meanwhile are kept."""
        self.log("stall", seconds=seconds, at=self.desc)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.conn.fill(end)
        self.log("stall-end", at=self.desc)

    def reply(self, status, body=None, body_len=None):
        """Send a reply through the current fault, if any."""
        f, self.cur_fault = self.cur_fault, None
        head = status + CRLF
        if f is not None and f.action == "long-line" and f.where == "status":
            head = b"+OK " + f.data * f.count + CRLF
        st = ReplyStream(head, body, body_len)
        complete = True
        try:
            if f is None or f.action == "long-line" and f.where == "status":
                st.write_rest(self.send)
            elif f.action == "burst":
                if self.held is None:
                    self.held = bytearray()
                self.hold_left = f.count
                self.hold_wait = f.wait
                st.write_rest(self.send)
            else:
                complete = False
                self.emit_with_fault(f, st)
                complete = True
        finally:
            self.log("reply", cmd=self.verb, status=printable(status, 120),
                     bytes=st.pos, complete=complete and st.pos == st.total,
                     **({"held": True} if self.held is not None else {}))
        self.count_held_reply()

    def count_held_reply(self):
        if self.held is not None:
            self.hold_left -= 1
            if self.hold_left <= 0:
                self.flush_held("count reached")

    def cut_point(self, f, st, default):
        if f.at_byte is not None:
            return st.hs + min(f.at_byte, st.body_len) if st.multiline else st.hs
        at = f.at or default
        return {
            "before": 0,
            "mid-status": max(1, (st.hs - 2) // 2),
            "after-status": st.hs,
            "mid-body": st.hs + st.body_len // 2,
            "no-dot": st.hs + st.body_len,
            "after": st.total,
        }[at]

    def where(self, st):
        if st.pos == 0:
            return "before the reply"
        if st.pos < st.hs:
            return "mid-status (%d of %d status bytes sent)" % (st.pos, st.hs)
        if not st.multiline or st.pos == st.total:
            return "after the complete reply"
        if st.pos == st.hs:
            return "after the status line"
        body = st.pos - st.hs
        if body >= st.body_len:
            return "before the terminating dot (%d body bytes sent)" % st.body_len
        return "mid-body (%d of %d body bytes sent)" % (body, st.body_len)

    def emit_with_fault(self, f, st):
        a = f.action
        send = self.send
        if a == "drop":
            cut = self.cut_point(f, st, "before")
            st.write_upto(send, cut, mid_line=(f.at == "mid-body"))
            self.rst = f.rst
            raise Dropped(self.where(st))
        if a == "stall":
            cut = self.cut_point(f, st, "before")
            st.write_upto(send, cut, mid_line=(f.at == "mid-body"))
            self.flush_held("stall")
            self.stall(f.seconds)
            if f.then == "close":
                raise Dropped(self.where(st) + " after a stall")
            st.write_rest(send)
            return
        if a == "drip":
            cut = self.cut_point(f, st, "before")
            st.write_upto(send, cut)
            self.flush_held("drip")
            n = f.count if f.count is not None else st.total - st.pos
            self.log("drip", bytes=n, interval=f.interval, at=self.desc)
            for _ in range(n):
                if st.pos >= st.total:
                    break
                st.write_upto(send, st.pos + 1)
                end = time.monotonic() + f.interval
                while time.monotonic() < end:
                    self.conn.fill(end)
            st.write_rest(send)
            return
        if a == "no-dot":
            st.write_upto(send, st.hs + st.body_len)
            if f.then == "stall":
                self.flush_held("stall")
                self.stall(f.seconds)
            raise Dropped(self.where(st) + " (no terminating dot)")
        if a == "long-line":          # where=body
            cut = st.hs + min(f.at_byte, st.body_len) if f.at_byte is not None \
                else st.hs + st.body_len
            if not st.multiline:
                cut = st.total
            st.write_upto(send, cut, line_end=True)
            send(f.data * f.count + CRLF)
            st.write_rest(send)
            return
        if a == "inject":
            if f.where == "before":
                cut = 0
            elif f.where == "status":
                cut = st.hs - 2
            elif f.where == "body" and st.multiline:
                cut = st.hs + (st.body_len if f.at_byte is None
                               else min(f.at_byte, st.body_len))
            else:
                cut = st.total
            st.write_upto(send, cut)
            send(f.data)
            st.write_rest(send)
            return
        raise AssertionError(a)

    def replace_reply(self, f):
        """Faults that replace the command: drop before the reply, err, reply."""
        if f.action == "drop":
            self.rst = f.rst
            raise Dropped("before the reply")
        data = f.data if f.raw else f.data + CRLF
        self.send(data)
        self.log("reply", cmd=self.verb, status=printable(data.rstrip(b"\r\n"), 120),
                 bytes=len(data), complete=True, injected=True)
        self.count_held_reply()
        if f.then == "stall":
            self.flush_held("stall")
            self.stall(f.seconds)
            raise Dropped("after the injected reply and a stall")
        if f.then == "close":
            raise Dropped("after the injected reply")

    def take_fault(self, verb, args):
        chosen = None
        for i, f in enumerate(self.sc.faults):
            if not f.matches(verb, args, self.number):
                continue
            self.counts[i] += 1
            if chosen is None and f.nth_ok(self.counts[i]):
                chosen = f
        if chosen is not None:
            self.log("fault", cmd=verb, do=chosen.action, rule=chosen.text,
                     line=chosen.lineno, occurrence=self.counts[self.sc.faults.index(chosen)])
        return chosen

    # -- the session

    def run(self):
        self.log("connect", peer=self.peer, messages=[m.key for m in self.msgs])
        reason = "?"
        linger = 5.0
        try:
            if self.srv.implicit_tls:
                self.start_tls()
            self.greet()
            while True:
                self.command()
        except Quit:
            reason = "quit"
        except Dropped as e:
            reason = "dropped"
            self.log("drop", message="connection dropped at %s: %s" % (self.desc, e))
        except Closed as e:
            reason = str(e)
        except TimeoutError:
            reason = "autologout"
            try:
                self.held = None
                self.conn.write(b"-ERR autologout; idle for too long\r\n",
                                time.monotonic() + 2)
            except Closed:
                pass
        except (SystemExit, KeyboardInterrupt, Lifetime):
            reason = "server stopped"
            linger = 0.0
            raise
        except Exception:
            import traceback
            reason = "internal error"
            linger = 0.0
            tb = traceback.format_exc()
            sys.stderr.write("%s: internal error in session %d:\n%s" % (PROG, self.number, tb))
            self.log("error", message="internal error", traceback=tb)
        finally:
            self.conn.close(rst=self.rst, linger=linger)
            discarded = [self.msgs[i].key for i in sorted(self.marked)]
            extra = {"discarded_deletions": discarded} if discarded else {}
            self.log("end", reason=reason, **extra)

    def start_tls(self):
        if self.srv.tls_ctx is None:
            raise Dropped("TLS requested but no --tls-cert/--tls-key given")
        version, cipher = self.conn.start_tls(self.srv.tls_ctx, self.deadline())
        self.tls_active = True
        self.log("tls", version=version, cipher=cipher)

    def greet(self):
        f = self.take_fault("GREETING", [])
        if f is not None and f.replaces_command():
            self.replace_reply(f)
            return
        self.cur_fault = f
        self.reply(self.sc.greeting)

    def command(self):
        if self.held is not None and not self.conn.has_line():
            try:
                got = self.conn.fill(time.monotonic() + self.hold_wait)
            except Closed:
                self.held = None
                raise
            if not got:
                self.flush_held("no more commands")
        got = self.conn.readline(self.sc.max_line, self.deadline())
        if got is None:
            self.verb, self.desc = "?", "an over-long command line"
            self.log("command", cmd="?", line="(line longer than %d bytes)" % self.sc.max_line)
            self.reply(b"-ERR command line too long")
            return
        line, crlf = got
        verb, _, rest = line.partition(b" ")
        verb_s = verb.decode("ascii", "replace").upper()
        self.verb = verb_s
        shown = self.redact(verb_s, line, rest)
        self.desc = shown
        # A command is in the burst of the one before when the client sent
        # it before any reply to that one had been sent (pipelining).
        if not self.burst or (not self.mark_pending and self.conn.received_upto() > self.rx_mark):
            self.burst += 1
        self.mark_pending = True
        fields = {"burst": self.burst}
        if not crlf:
            fields["crlf"] = False
        self.log("command", cmd=verb_s, line=shown, **fields)
        args = rest.split()
        f = self.take_fault(verb_s, args)
        if f is not None and f.replaces_command():
            self.replace_reply(f)
            return
        self.cur_fault = f
        handler = self.HANDLERS.get(verb_s)
        try:
            if handler is None:
                self.reply(b"-ERR unknown command")
            else:
                handler(self, rest, args)
        finally:
            self.cur_fault = None

    @staticmethod
    def redact(verb, line, rest):
        if verb == "PASS":
            return "PASS <%d bytes>" % len(rest)
        if verb == "APOP":
            return "APOP %s <digest>" % printable(rest.split(b" ")[0])
        if verb == "AUTH":
            parts = rest.split(b" ")
            if len(parts) > 1:
                return "AUTH %s <initial response, %d bytes>" % (printable(parts[0]),
                                                                 len(parts[1]))
        return printable(line, 300)

    # -- helpers for handlers

    def need_state(self, state):
        if self.state != state:
            self.reply(b"-ERR command not valid in this state")
            return False
        return True

    def msgno(self, arg):
        if not re.fullmatch(rb"[0-9]+", arg):
            self.reply(b"-ERR invalid message number")
            return None
        n = int(arg)
        if n < 1 or n > len(self.msgs):
            self.reply(b"-ERR no such message")
            return None
        if n - 1 in self.marked:
            self.reply(b"-ERR message %d already deleted" % n)
            return None
        return n - 1

    def argc(self, args, lo, hi):
        if len(args) < lo:
            self.reply(b"-ERR missing argument")
            return False
        if len(args) > hi:
            self.reply(b"-ERR too many arguments")
            return False
        return True

    def list_size(self, m):
        if m.list_size is not None:
            return m.list_size
        return int(m.size * self.sc.list_size_factor + 0.5)

    def live(self):
        return [i for i in range(len(self.msgs)) if i not in self.marked]

    def plain_auth_allowed(self):
        return not self.sc.tls_required or self.tls_active

    # -- commands

    def capa_lines(self):
        sc = self.sc
        if self.state == "TRANSACTION" and sc.capa_after_login is not None:
            lines = list(sc.capa_after_login)
        elif sc.capa is not None:
            lines = list(sc.capa)
        else:
            lines = []
            if sc.top:
                lines.append(b"TOP")
            if sc.uidl:
                lines.append(b"UIDL")
            if sc.auth_user and self.plain_auth_allowed():
                lines.append(b"USER")
            mechs = [m for m in sc.sasl_advertise
                     if self.plain_auth_allowed() or m not in PLAINTEXT_MECHS]
            if mechs:
                lines.append(b"SASL " + " ".join(mechs).encode())
            if sc.resp_codes:
                lines += [b"RESP-CODES", b"AUTH-RESP-CODE"]
            if sc.pipelining:
                lines.append(b"PIPELINING")
            if sc.expire is not None:
                lines.append(b"EXPIRE " + sc.expire)
            if sc.login_delay is not None:
                lines.append(b"LOGIN-DELAY " + sc.login_delay)
            if sc.stls != "off":
                lines.append(b"STLS")
            lines.append(b"IMPLEMENTATION " + sc.implementation)
        if self.tls_active:
            lines = [l for l in lines if l.split(b" ")[0].upper() != b"STLS"]
        return lines

    def cmd_capa(self, rest, args):
        if not self.sc.capa_command:
            return self.reply(b"-ERR unknown command")
        self.reply(b"+OK Capability list follows", *stuffed_lines(self.capa_lines()))

    def cmd_user(self, rest, args):
        if not self.need_state("AUTHORIZATION"):
            return
        if not self.sc.auth_user:
            return self.reply(b"-ERR USER not supported, use AUTH")
        if not self.plain_auth_allowed():
            return self.reply(self.sc.tls_required_text)
        if not rest:
            return self.reply(b"-ERR missing argument")
        self.user_given = rest
        self.reply(b"+OK")

    def cmd_pass(self, rest, args):
        if not self.need_state("AUTHORIZATION"):
            return
        if not self.plain_auth_allowed():
            return self.reply(self.sc.tls_required_text)
        if self.user_given is None:
            return self.reply(b"-ERR give USER first")
        user, self.user_given = self.user_given, None
        ok = user == self.sc.user and rest == self.sc.password
        why = None if ok else ("unknown user" if user != self.sc.user else "wrong password")
        self.auth_done("USER", user, ok, why)

    def cmd_apop(self, rest, args):
        if not self.need_state("AUTHORIZATION"):
            return
        ts = self.sc.apop_timestamp()
        if not self.sc.apop or ts is None:
            self.log("auth", mech="APOP", ok=False, why="APOP disabled")
            return self.reply(b"-ERR [AUTH] APOP not supported")
        if not self.argc(args, 2, 2):
            return
        want = hashlib.md5(ts + self.sc.password).hexdigest().encode()
        ok = args[0] == self.sc.user and args[1].lower() == want
        why = None if ok else ("unknown user" if args[0] != self.sc.user else "wrong digest")
        self.auth_done("APOP", args[0], ok, why)

    def auth_done(self, mech, user, ok, why=None, **extra):
        self.log("auth", mech=mech, user=printable(user or b""), ok=ok,
                 **({"why": why} if why else {}), **extra)
        if ok:
            self.state = "TRANSACTION"
            self.reply(b"+OK Logged in.")
        else:
            self.reply(self.sc.auth_fail_text)

    def cmd_stls(self, rest, args):
        if not self.need_state("AUTHORIZATION"):
            return
        mode = self.sc.stls
        if self.tls_active:
            return self.reply(b"-ERR TLS already active")
        if mode == "off":
            return self.reply(b"-ERR unknown command")
        if mode == "refuse":
            return self.reply(self.sc.stls_refuse_text)
        if mode == "inject":
            self.cur_fault = None
            data = b"+OK Begin TLS negotiation\r\n" + self.sc.stls_inject
            self.send(data)
            self.log("reply", cmd="STLS", status="+OK Begin TLS negotiation",
                     bytes=len(data), complete=True,
                     injected_after_ok=printable(self.sc.stls_inject))
        else:
            self.reply(b"+OK Begin TLS negotiation")
        self.flush_held("STLS")
        self.user_given = None
        self.start_tls()

    # SASL

    def sasl_step(self, challenge):
        """Send a continuation, read the client's answer: bytes, or None if it
        cancelled with '*' (the -ERR has been sent then)."""
        cont = self.sc.sasl_continuation + base64.b64encode(challenge)
        self.send(cont + CRLF)
        self.log("sasl-challenge", line=printable(cont))
        got = self.conn.readline(self.sc.max_line, self.deadline())
        if got is None:
            self.log("sasl-response", length=-1, too_long=True)
            self.reply(b"-ERR line too long")
            return None
        line, crlf = got
        self.log("sasl-response", length=len(line), **({} if crlf else {"crlf": False}))
        if line == b"*":
            self.log("auth", mech=self.mech, ok=False, why="cancelled by client")
            self.reply(b"-ERR authentication cancelled")
            return None
        return self.b64(line)

    def b64(self, text):
        if text == b"=":
            return b""
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.log("auth", mech=self.mech, ok=False, why="invalid base64")
            self.reply(b"-ERR invalid base64 data")
            return None

    def cmd_auth(self, rest, args):
        if not self.need_state("AUTHORIZATION"):
            return
        sc = self.sc
        if not args:
            return self.reply(b"+OK", *stuffed_lines([m.encode() for m in sc.sasl]))
        if len(args) > 2:
            return self.reply(b"-ERR too many arguments")
        mech = args[0].decode("ascii", "replace").upper()
        self.mech = mech
        if mech not in sc.sasl:
            self.log("auth", mech=mech, ok=False, why="mechanism not supported")
            return self.reply(b"-ERR Unsupported authentication mechanism.")
        if mech in PLAINTEXT_MECHS and not self.plain_auth_allowed():
            self.log("auth", mech=mech, ok=False, why="TLS required")
            return self.reply(sc.tls_required_text)
        ir = None
        if len(args) == 2:
            if sc.sasl_ir == "refuse":
                self.log("auth", mech=mech, ok=False, why="initial response refused")
                self.reply(sc.sasl_ir_refuse_text)
                raise Dropped("after refusing the initial response")
            if mech == "CRAM-MD5":
                self.log("auth", mech=mech, ok=False, why="initial response with CRAM-MD5")
                return self.reply(b"-ERR CRAM-MD5 takes no initial response")
            ir = self.b64(args[1])
            if ir is None:
                return
        getattr(self, "sasl_" + mech.replace("-", "_").lower())(ir)

    def sasl_plain(self, ir):
        resp = ir if ir is not None else self.sasl_step(b"")
        if resp is None:
            return
        parts = resp.split(b"\0")
        if len(parts) != 3:
            self.log("auth", mech="PLAIN", ok=False, why="malformed PLAIN message")
            return self.reply(b"-ERR malformed PLAIN message")
        authz, user, pw = parts
        ok = user == self.sc.user and pw == self.sc.password and authz in (b"", user)
        why = None if ok else ("bad authzid" if authz not in (b"", user) else
                               "unknown user" if user != self.sc.user else "wrong password")
        self.auth_done("PLAIN", user, ok, why, initial_response=ir is not None)

    def sasl_login(self, ir):
        user = ir if ir is not None else self.sasl_step(b"Username:")
        if user is None:
            return
        pw = self.sasl_step(b"Password:")
        if pw is None:
            return
        ok = user == self.sc.user and pw == self.sc.password
        why = None if ok else ("unknown user" if user != self.sc.user else "wrong password")
        self.auth_done("LOGIN", user, ok, why, initial_response=ir is not None)

    def sasl_cram_md5(self, ir):
        chal = b"<%d.%d@faultpop.test>" % (os.getpid(), int(time.time() * 1000))
        resp = self.sasl_step(chal)
        if resp is None:
            return
        user, _, digest = resp.rpartition(b" ")
        want = hmac.new(self.sc.password, chal, hashlib.md5).hexdigest().encode()
        ok = user == self.sc.user and digest.lower() == want
        why = None if ok else ("unknown user" if user != self.sc.user else "wrong digest")
        self.auth_done("CRAM-MD5", user, ok, why)

    def sasl_ntlm(self, ir):
        """Type 1 (the client's offer, with its domain), type 2 (our random
        challenge), type 3: the NT response must be the NTLMv1 one for the
        password; the LM response is only reported."""
        sc = self.sc
        t1 = ir if ir is not None else self.sasl_step(b"")
        if t1 is None:
            return
        m1 = ntlm.parse(t1, 1)
        if isinstance(m1, str):
            return self.auth_done("NTLM", b"", False, "malformed type 1: " + m1)
        # libntlm puts the user name first, then the domain (ntlmdomain)
        domain = m1["field2"]
        chal = os.urandom(8)
        t2 = ntlm.type2(chal, as_str(sc.ntlm_domain or b"FAULTPOP"))
        if sc.ntlm_challenge == "garbage":
            t2 = b"this is not an NTLM challenge message"
        elif sc.ntlm_challenge == "truncated":
            t2 = t2[:20]
        t3 = self.sasl_step(t2)
        if t3 is None:
            return
        m3 = ntlm.parse(t3, 3)
        if isinstance(m3, str):
            return self.auth_done("NTLM", b"", False, "malformed type 3: " + m3,
                                  type1_domain=printable(domain))
        user = m3["user"].decode("utf-16-le", "replace").encode()
        pw = sc.password.decode("utf-8", "surrogateescape")
        nt_ok = m3["nt"] == ntlm.response(ntlm.nt_hash(pw), chal)
        lm_ok = m3["lm"] == ntlm.response(ntlm.lm_hash(pw), chal)
        why = None
        if user != sc.user:
            why = "unknown user"
        elif sc.ntlm_domain is not None and domain != sc.ntlm_domain:
            why = "type 1 domain %s, want %s" % (printable(domain), printable(sc.ntlm_domain))
        elif not nt_ok:
            why = "wrong NT response"
        self.auth_done("NTLM", user, why is None, why, type1_domain=printable(domain),
                       type3_domain=m3["domain"].decode("utf-16-le", "replace"),
                       nt_ok=nt_ok, lm_ok=lm_ok, challenge=sc.ntlm_challenge)

    def oauth_check(self, mech, user, token, ir, error_json):
        sc = self.sc
        why = None
        if token is None:
            why = "no bearer token"
        elif sc.token_max_length is not None and len(token) > sc.token_max_length:
            why = "token longer than %d bytes" % sc.token_max_length
        elif user is not None and user != sc.user:
            why = "unknown user"
        elif token != sc.token:
            why = "invalid token"
        extra = {"initial_response": ir is not None,
                 "token_length": -1 if token is None else len(token)}
        if why is None:
            return self.auth_done(mech, user or b"", True, **extra)
        if sc.oauth_error_challenge:
            chal = json.dumps(error_json, separators=(",", ":")).encode()
            cont = sc.sasl_continuation + base64.b64encode(chal)
            self.send(cont + CRLF)
            self.log("sasl-challenge", line=printable(cont), error=True)
            got = self.conn.readline(sc.max_line, self.deadline())
            ack = None if got is None else got[0]
            extra["error_ack"] = "(too long)" if ack is None else printable(ack)
            extra["error_ack_ok"] = ack in (b"", b"AQ==")
        self.auth_done(mech, user or b"", False, why, **extra)

    def sasl_xoauth2(self, ir):
        resp = ir if ir is not None else self.sasl_step(b"")
        if resp is None:
            return
        user = token = None
        if resp.endswith(b"\x01\x01"):
            for kv in resp[:-2].split(b"\x01"):
                k, _, v = kv.partition(b"=")
                if k == b"user":
                    user = v
                elif k == b"auth" and v.startswith(b"Bearer "):
                    token = v[7:]
        self.oauth_check("XOAUTH2", user if user is not None else b"", token, ir,
                         {"status": "401", "schemes": "bearer",
                          "scope": "https://mail.google.com/"})

    def sasl_oauthbearer(self, ir):
        resp = ir if ir is not None else self.sasl_step(b"")
        if resp is None:
            return
        user = token = None
        gs2, sep, kvs = resp.partition(b"\x01")
        m = re.fullmatch(rb"n,(?:a=([^,]*))?,", gs2)
        if m and sep and kvs.endswith(b"\x01\x01"):
            user = m.group(1)
            for kv in kvs[:-2].split(b"\x01"):
                k, _, v = kv.partition(b"=")
                if k == b"auth" and v.startswith(b"Bearer "):
                    token = v[7:]
        self.oauth_check("OAUTHBEARER", user, token, ir,
                         {"status": "invalid_token", "scope": "pop",
                          "openid-configuration":
                              "https://faultpop.test/.well-known/openid-configuration"})

    # transaction state

    def cmd_stat(self, rest, args):
        if not self.need_state("TRANSACTION") or not self.argc(args, 0, 0):
            return
        live = self.live()
        count = self.sc.stat_count if self.sc.stat_count is not None else len(live)
        size = self.sc.stat_size if self.sc.stat_size is not None \
            else sum(self.list_size(self.msgs[i]) for i in live)
        self.reply(b"+OK %d %d" % (count, size))

    def cmd_list(self, rest, args):
        if not self.need_state("TRANSACTION") or not self.argc(args, 0, 1):
            return
        if args:
            i = self.msgno(args[0])
            if i is not None:
                self.reply(b"+OK %d %d" % (i + 1, self.list_size(self.msgs[i])))
            return
        live = self.live()
        lines = [b"%d %d" % (i + 1, self.list_size(self.msgs[i])) for i in live]
        lines += self.sc.list_extra
        self.reply(b"+OK %d messages (%d octets)"
                   % (len(live), sum(self.list_size(self.msgs[i]) for i in live)),
                   *stuffed_lines(lines))

    def cmd_uidl(self, rest, args):
        if not self.need_state("TRANSACTION"):
            return
        if not self.sc.uidl:
            return self.reply(b"-ERR unknown command")
        if not self.argc(args, 0, 1):
            return
        sep = self.sc.uidl_separator
        if args:
            i = self.msgno(args[0])
            if i is None:
                return
            m = self.msgs[i]
            if m.uidl_omit:
                return self.reply(b"-ERR no unique-id for message %d" % (i + 1))
            return self.reply(b"+OK %d" % (i + 1) + sep + m.uid)
        lines = [b"%d" % (i + 1) + sep + self.msgs[i].uid
                 for i in self.live() if not self.msgs[i].uidl_omit]
        lines += self.sc.uidl_extra
        self.reply(b"+OK unique-id listing follows", *stuffed_lines(lines))

    def cmd_top(self, rest, args):
        if not self.need_state("TRANSACTION"):
            return
        if not self.sc.top:
            return self.reply(b"-ERR unknown command")
        if not self.argc(args, 2, 2):
            return
        if not re.fullmatch(rb"[0-9]+", args[1]):
            return self.reply(b"-ERR invalid line count")
        i = self.msgno(args[0])
        if i is None:
            return
        m = self.msgs[i]
        lines = list(m.top_lines(int(args[1])))
        chunks = list(m.stuffed_chunks(lines))
        self.reply(b"+OK top of message follows", chunks, sum(map(len, chunks)))

    def cmd_retr(self, rest, args):
        if not self.need_state("TRANSACTION") or not self.argc(args, 1, 1):
            return
        i = self.msgno(args[0])
        if i is None:
            return
        m = self.msgs[i]
        self.reply(b"+OK %d octets" % self.list_size(m), m.stuffed_chunks(), m.wire_len)

    def cmd_dele(self, rest, args):
        if not self.need_state("TRANSACTION") or not self.argc(args, 1, 1):
            return
        i = self.msgno(args[0])
        if i is None:
            return
        self.marked.add(i)
        self.reply(b"+OK message %d deleted" % (i + 1))

    def cmd_rset(self, rest, args):
        if not self.need_state("TRANSACTION") or not self.argc(args, 0, 0):
            return
        self.marked.clear()
        self.reply(b"+OK maildrop has %d messages" % len(self.msgs))

    def cmd_noop(self, rest, args):
        if not self.need_state("TRANSACTION"):
            return
        self.reply(b"+OK")

    def cmd_quit(self, rest, args):
        if self.state == "TRANSACTION":
            gone = [self.msgs[i] for i in sorted(self.marked)]
            self.state = "UPDATE"
            self.srv.state.commit(self.number, gone)
            keys = [m.key for m in gone]
            self.marked.clear()
            self.log("update", committed=keys,
                     message="committed deletions: %s" % json.dumps(keys, ensure_ascii=False))
            self.reply(b"+OK faultpop signing off (%d messages deleted)" % len(keys))
        else:
            self.reply(b"+OK faultpop signing off")
        self.flush_held("QUIT")
        raise Quit()

    HANDLERS = {
        "CAPA": cmd_capa, "USER": cmd_user, "PASS": cmd_pass, "APOP": cmd_apop,
        "AUTH": cmd_auth, "STLS": cmd_stls, "STAT": cmd_stat, "LIST": cmd_list,
        "UIDL": cmd_uidl, "TOP": cmd_top, "RETR": cmd_retr, "DELE": cmd_dele,
        "RSET": cmd_rset, "NOOP": cmd_noop, "QUIT": cmd_quit,
    }


# ---------------------------------------------------------------------------
# Server


class Server:
    def __init__(self, args, scenario, messages):
        self.args = args
        self.scenario = scenario
        self.log = Log(args.log, args.verbose)
        self.state = State(args.state, messages)
        self.idle_timeout = args.idle_timeout
        self.implicit_tls = args.implicit_tls or scenario.implicit_tls
        self.tls_ctx = None
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            self.tls_ctx = ctx

    def session(self, conn, peer):
        self.state.sessions += 1
        self.state.save()
        self.log.session = self.state.sessions
        Session(self, conn, self.state.sessions, peer).run()
        self.state.save()
        self.log.session = 0

    def serve_inetd(self):
        self.log("start", mode="inetd", scenario=self.scenario.path)
        devnull = os.open(os.devnull, os.O_RDWR)
        if stat.S_ISSOCK(os.fstat(0).st_mode):
            sock = socket.socket(fileno=os.dup(0))
            conn = Conn(sock.fileno(), sock.fileno(), sock)
        else:
            conn = Conn(os.dup(0), os.dup(1))
        # the session owns the connection: nothing else may keep it open
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        self.session(conn, "inetd")
        self.log("exit", why="inetd session done")

    def listen(self):
        a = self.args
        if a.unix:
            try:
                if stat.S_ISSOCK(os.lstat(a.unix).st_mode):
                    os.unlink(a.unix)
            except FileNotFoundError:
                pass
            lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lsock.bind(a.unix)
            where = a.unix
        else:
            fam = socket.AF_INET6 if ":" in a.listen else socket.AF_INET
            lsock = socket.socket(fam, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind((a.listen, a.port))
            where = str(lsock.getsockname()[1])
        lsock.listen(16)
        return lsock, where

    def serve(self):
        lsock, where = self.listen()
        self.log("start", listen=self.args.unix or self.args.listen, port=where,
                 scenario=self.scenario.path, pid=os.getpid())
        if self.args.port_file:
            atomic_write(self.args.port_file, (where + "\n").encode())
        done = 0
        limit = self.args.sessions
        try:
            while limit == 0 or done < limit:
                r, _, _ = select.select([lsock], [], [], self.idle_timeout)
                if not r:
                    self.log("exit", why="no connection for %g s" % self.idle_timeout)
                    return
                try:
                    sock, addr = lsock.accept()
                except OSError:
                    continue
                peer = addr if isinstance(addr, str) else "%s:%d" % addr[:2]
                if sock.family != socket.AF_UNIX:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.session(Conn(sock.fileno(), sock.fileno(), sock), peer or "unix")
                done += 1
            self.log("exit", why="%d session(s) served" % done)
        finally:
            lsock.close()
            if self.args.unix:
                try:
                    os.unlink(self.args.unix)
                except OSError:
                    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, description="Scripted, fault-injecting POP3 server for tests "
        "(loopback only). See README.md for the scenario format.")
    p.add_argument("--scenario", help="scenario file (required)")
    p.add_argument("--port-file", help="write the port (or the unix socket path) here "
                   "once listening (atomically)")
    p.add_argument("--listen", default="127.0.0.1",
                   help="loopback address to bind (127.0.0.1 or ::1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: random)")
    p.add_argument("--unix", metavar="PATH", help="listen on a unix socket instead")
    p.add_argument("--inetd", action="store_true",
                   help="serve one session on stdin/stdout")
    p.add_argument("--tls-cert", help="certificate chain (PEM) for STLS / implicit TLS")
    p.add_argument("--tls-key", help="private key (PEM)")
    p.add_argument("--implicit-tls", action="store_true",
                   help="TLS handshake right after connecting (pop3s)")
    p.add_argument("--log", help="append JSON-lines events to this file")
    p.add_argument("--state", help="JSON state file kept across sessions and runs")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--maildir", help="messages from this maildir (cur/ and new/)")
    src.add_argument("--messages", help="messages from this directory, one per file")
    n = p.add_mutually_exclusive_group()
    n.add_argument("--once", action="store_const", const=1, dest="sessions",
                   help="exit after one session (the default)")
    n.add_argument("--sessions", type=int, default=1,
                   help="exit after N sessions (0: no limit; default 1)")
    p.add_argument("--idle-timeout", type=float, default=60.0,
                   help="exit when no client connects for this long; also the "
                   "in-session autologout (default 60 s)")
    p.add_argument("--max-lifetime", type=float, default=600.0,
                   help="hard limit on the server's run time (default 600 s)")
    p.add_argument("--verbose", action="store_true", help="copy the log to stderr")
    p.add_argument("--check", action="store_true",
                   help="only parse the scenario and the mailbox, then exit")
    p.add_argument("--check-files", nargs="+", metavar="FILE",
                   help="only parse these scenario files, then exit")
    p.add_argument("--describe", action="store_true",
                   help="print the scenario summary as JSON and exit")
    p.add_argument("--print", choices=("user", "password", "token", "client-password"),
                   dest="print_field",
                   help="print this credential of the scenario and exit")
    p.set_defaults(sessions=1)
    a = p.parse_args(argv)
    if not a.scenario and not a.check_files:
        p.error("--scenario is required")
    if a.sessions is None or a.sessions < 0:
        p.error("--sessions must be >= 0")
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if a.implicit_tls and not a.tls_cert:
        p.error("--implicit-tls needs --tls-cert and --tls-key")
    if a.unix and a.inetd:
        p.error("--unix and --inetd exclude each other")
    try:
        if not ipaddress.ip_address(a.listen).is_loopback:
            p.error("--listen: %s is not a loopback address" % a.listen)
    except ValueError:
        p.error("--listen takes a numeric loopback address (127.0.0.1 or ::1)")
    if not 0 <= a.port <= 65535:
        p.error("--port out of range")
    if a.max_lifetime <= 0 or a.idle_timeout <= 0:
        p.error("timeouts must be positive")
    return a


def check_files(paths):
    bad = 0
    for path in paths:
        try:
            sc = Scenario.load(path)
            print("%s: %s: ok (%d messages, %d faults)"
                  % (PROG, path, len(sc.messages), len(sc.faults)))
        except (ScenarioError, OSError) as e:
            sys.stderr.write("%s: %s\n" % (PROG, e))
            bad += 1
    return 2 if bad else 0


def main(argv):
    args = parse_args(argv)
    if args.check_files:
        return check_files(args.check_files)
    try:
        sc = Scenario.load(args.scenario)
        messages = sc.messages
        if args.maildir or args.messages:
            messages = messages_from_dir(args.maildir or args.messages, bool(args.maildir))
            number_messages(messages)
    except (ScenarioError, OSError) as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 2
    if args.print_field:
        v = {"user": sc.user, "password": sc.password, "token": sc.token,
             "client-password": sc.client_password()}[args.print_field]
        sys.stdout.buffer.write(v + b"\n")
        return 0
    if args.describe:
        print(json.dumps(sc.describe(), indent=1, ensure_ascii=False))
        return 0
    if args.check:
        print("%s: %s: ok (%d messages, %d faults)" % (PROG, args.scenario, len(messages),
                                                      len(sc.faults)))
        return 0
    if sc.needs_tls() and not args.tls_cert:
        sys.stderr.write("%s: %s: scenario uses TLS; give --tls-cert and --tls-key\n"
                         % (PROG, args.scenario))
        return 2

    def on_alarm(signum, frame):
        raise Lifetime()

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.setitimer(signal.ITIMER_REAL, args.max_lifetime)
    srv = None
    try:
        srv = Server(args, sc, messages)
        if args.inetd:
            srv.serve_inetd()
        else:
            srv.serve()
    except Lifetime:
        srv.log("exit", why="max lifetime (%g s) reached" % args.max_lifetime)
        srv.state.save()
        return 3
    except SystemExit:
        if srv is not None:
            srv.log("exit", why="terminated by a signal")
            srv.state.save()
        return 0
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
