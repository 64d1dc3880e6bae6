#!/usr/bin/python3
"""Runs a command on a new pseudo-terminal (as its controlling terminal),
for the password prompt tests.

  ptyrun.py [--wait TEXT] [--send TEXT] [--timeout S] -- COMMAND...

Waits (at most S seconds, default 10) until the terminal output contains
--wait TEXT, then writes --send TEXT to the terminal (backslash escapes
allowed: \\n, \\x03 ...), reads until the command exits, and prints:

  output=<everything the command wrote to the terminal, repr()>
  echo=on|off        the terminal's ECHO flag after the command exited
  status=exit N | signal N
"""

import argparse
import os
import pty
import signal
import select
import sys
import termios
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--wait", default=None)
    p.add_argument("--send", default=None)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("cmd", nargs="+")
    a = p.parse_args()
    send = a.send.encode().decode("unicode_escape").encode("latin-1") if a.send is not None else None
    pid, fd = pty.fork()
    if pid == 0:
        try:
            # a terminal's program gets the default SIGINT/SIGQUIT, even when
            # this script runs in the background (where they are ignored)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)
            os.execvp(a.cmd[0], a.cmd)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + a.timeout
    sent = send is None
    status = None
    while time.monotonic() < deadline:
        if not sent and (a.wait is None or a.wait.encode() in out):
            time.sleep(0.2)     # let the command turn echo off and block in read
            os.write(fd, send)
            sent = True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            out += data
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
    if status is None:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        print("timeout")
    try:
        while True:
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                break
            data = os.read(fd, 4096)
            if not data:
                break
            out += data
    except OSError:
        pass
    echo = "on" if termios.tcgetattr(fd)[3] & termios.ECHO else "off"
    print("output=%r" % out.decode("latin-1"))
    print("echo=%s" % echo)
    if os.WIFSIGNALED(status):
        print("status=signal %d" % os.WTERMSIG(status))
    else:
        print("status=exit %d" % os.WEXITSTATUS(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
