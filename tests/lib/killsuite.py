#!/usr/bin/python3
"""Kill suite: SIGKILL each process of the retrieval chain at seeded random
moments, rerun to completion, and count what was lost or delivered twice.

  killsuite.py --bin DIR --work DIR --host H --port P --user U --password PW
               --server-maildir DIR --template DIR --orig DIR
               [--kills N] [--seed S] [--targets LIST] [--label TEXT]

The server (e.g. the private Dovecot of tests/lib/dovecot.bash) holds the
mailbox of user U at --server-maildir; --template is a copy of it (cp -a)
that is restored before every round; --orig holds the original messages
(msggen.py) to compare the deliveries with (compare-maildir.py).

Targets (LIST is comma-separated; default all, rounds spread over them in
turn):
  mpop       the mpop wrapper             (chain: mpop -> pop3fetch -> mdeliver)
  rcparse    rcparse before it execs      (chain: rcparse -> pop3fetch -> mdeliver)
  pop3fetch  pop3fetch under mpop
  mdeliver   mdeliver under mpop; its rounds go in turn to maildir, mbox, mda
  mda        the MDA (sh -c SCRIPT, a child of mdeliver; delivery mda)
  group      the whole process group of the chain (mpop and everything in it)

A round: restore the server mailbox, start the chain in a new session, sleep
a random delay within the length of an unkilled session (measured first),
then SIGKILL the target (when it is not running at that moment, the first
time it runs after it); wait (bounded) until every process of the session
is gone (an orphaned pop3fetch finishes its session); check the UIDLs file
with `uidlstore check`; rerun mpop to completion; compare.

Output: a table, one line per target and a total line, with columns
  rounds kills lost dups partial unknown badstore tmp  (and the wall time)
kills = rounds where a process was actually SIGKILLed; lost, partial and
badstore must be 0; dups must average <= 1 per kill. Details of bad rounds
go to stderr. Exit status 0 when every figure is within its bound, 1
otherwise, 2 on a usage or set-up error.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = ["mpop", "rcparse", "pop3fetch", "mdeliver", "mda", "group"]
WAIT_MAX = 120.0

# The MDA: stores its stdin under tmp/, then renames it into new/ (atomic).
MDA_SCRIPT = """#!/bin/sh
f=$(mktemp "$1/tmp/mda.XXXXXXXXXX") || exit 75
cat > "$f" || { rm -f "$f" ; exit 75 ; }
exec mv "$f" "$1/new/"
"""


def proc_stat(pid):
    """(comm, state, ppid, pgid, sid) of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    lp, rp = data.find(b"("), data.rfind(b")")
    comm = data[lp + 1:rp].decode("latin-1")
    f = data[rp + 2:].split()
    return comm, f[0].decode(), int(f[1]), int(f[2]), int(f[3])


def session_procs(sid):
    """Live processes of session sid: list of (pid, comm, ppid, pgid)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[4] == sid and st[1] not in ("Z", "X"):
            out.append((int(name), st[0], st[2], st[3]))
    return out


def find_target(target, root):
    """The pid to kill for target in the session of root, or None."""
    procs = session_procs(root)
    bypid = {p[0]: p for p in procs}
    if target in ("mpop", "rcparse"):
        return root if root in bypid and bypid[root][1] == target else None
    if target in ("pop3fetch", "mdeliver"):
        for p in procs:
            if p[1] == target:
                return p[0]
        return None
    if target == "mda":
        # the MDA is the child of mdeliver (in its own process group)
        md = [p[0] for p in procs if p[1] == "mdeliver"]
        for p in procs:
            if p[2] in md and p[0] == p[3]:
                return p[0]
        return None
    return root


class Suite:
    def __init__(self, a):
        self.a = a
        self.bin = a.bin
        self.work = os.path.abspath(a.work)
        self.rc = os.path.join(self.work, "rc")
        self.uidls = os.path.join(self.work, "uidls")
        self.md = os.path.join(self.work, "md")
        self.mbox = os.path.join(self.work, "mbox")
        self.mdamd = os.path.join(self.work, "mdamd")
        self.log = os.path.join(self.work, "log")
        self.durations = {}

    def setup(self):
        os.makedirs(self.work, exist_ok=True)
        script = os.path.join(self.work, "mda.sh")
        with open(script, "w") as fh:
            fh.write(MDA_SCRIPT)
        os.chmod(script, 0o755)
        common = "host %s\nport %s\nuser %s\npassword %s\nauth user\ntls off\ntimeout 30\nkeep off\nuidls_file %s\n" % (
            self.a.host, self.a.port, self.a.user, self.a.password, self.uidls)
        with open(self.rc, "w") as fh:
            fh.write("account md\n%sdelivery maildir %s\n\n" % (common, self.md))
            fh.write("account mbox\n%sdelivery mbox %s\n\n" % (common, self.mbox))
            fh.write("account mda\n%sdelivery mda \"%s %s\"\n" % (common, script, self.mdamd))
        os.chmod(self.rc, 0o600)

    def account(self, target, rnd):
        if target == "mda":
            return "mda"
        if target == "mdeliver":
            return ("md", "mbox", "mda")[rnd % 3]
        return "md"

    def target_path(self, acc):
        return {"md": self.md, "mbox": self.mbox, "mda": self.mdamd}[acc]

    def reset(self, acc):
        srv = self.a.server_maildir
        subprocess.run(["rm", "-rf", srv], check=True)
        subprocess.run(["cp", "-a", self.a.template, srv], check=True)
        for p in (self.md, self.mdamd):
            shutil.rmtree(p, ignore_errors=True)
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(p, sub))
        for p in (self.mbox, self.uidls, self.uidls + ".journal"):
            if os.path.exists(p):
                os.unlink(p)

    def command(self, target, acc):
        if target == "rcparse":
            return [os.path.join(self.bin, "rcparse"), "-C", self.rc, acc,
                    os.path.join(self.bin, "pop3fetch"), "-q", os.path.join(self.bin, "mdeliver")]
        return [os.path.join(self.bin, "mpop"), "-q", "-C", self.rc, acc]

    def start(self, cmd):
        logf = open(self.log, "ab")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             start_new_session=True)
        logf.close()
        return p

    def wait_session(self, proc):
        """Waits for the chain and every process of its session."""
        deadline = time.monotonic() + WAIT_MAX
        try:
            proc.wait(timeout=WAIT_MAX)
        except subprocess.TimeoutExpired:
            pass
        while time.monotonic() < deadline and session_procs(proc.pid):
            time.sleep(0.005)
        left = session_procs(proc.pid)
        for p in left:
            try:
                os.kill(p[0], signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        return len(left)

    def full_run(self, acc):
        p = self.start([os.path.join(self.bin, "mpop"), "-q", "-C", self.rc, acc])
        self.wait_session(p)
        return p.returncode

    def measure(self, acc):
        best = None
        for _ in range(2):
            self.reset(acc)
            t = time.monotonic()
            rc = self.full_run(acc)
            if rc != 0:
                raise RuntimeError("an unkilled session of account %s exited %d (see %s)" % (acc, rc, self.log))
            d = time.monotonic() - t
            best = d if best is None else min(best, d)
        self.durations[acc] = best

    def kill_round(self, target, acc, delay):
        """Runs the chain, kills the target; returns (killed, comm killed)."""
        proc = self.start(self.command(target, acc))
        t0 = time.monotonic()
        killed = None
        while True:
            now = time.monotonic()
            if now - t0 < delay:
                time.sleep(min(0.002, delay - (now - t0)))
                continue
            if proc.poll() is not None and not session_procs(proc.pid):
                break
            if target == "group":
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed = "group"
                except ProcessLookupError:
                    pass
                break
            pid = find_target(target, proc.pid)
            if pid is not None:
                st = proc_stat(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed = st[0] if st else target
                except ProcessLookupError:
                    pass
                if killed:
                    break
            if target == "rcparse":
                break   # rcparse has exec'd already: nothing to kill
            if now - t0 > WAIT_MAX:
                break
            time.sleep(0.0005)
        left = self.wait_session(proc)
        return killed, left

    def uidls_check(self, acc):
        r = subprocess.run([os.path.join(self.bin, "rcparse"), "-C", self.rc, acc,
                            os.path.join(self.bin, "uidlstore"), "check"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode, r.stdout.decode("utf-8", "replace").strip()

    def compare(self, acc):
        r = subprocess.run([sys.executable, os.path.join(HERE, "compare-maildir.py"), self.a.orig,
                            self.target_path(acc), "--strip-received"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        fig = {}
        for line in r.stdout.decode().splitlines():
            k, _, v = line.partition(" ")
            fig[k] = int(v)
        return fig, r.stderr.decode("utf-8", "replace")

    def server_left(self):
        n = 0
        for sub in ("new", "cur"):
            d = os.path.join(self.a.server_maildir, sub)
            if os.path.isdir(d):
                n += len(os.listdir(d))
        return n


def row(name, f):
    return "%-10s %6d %6d %5d %5d %8d %8d %9d %5d %7.1f" % (
        name, f["rounds"], f["kills"], f["lost"], f["dups"], f["partial"], f["unknown"],
        f["badstore"], f["tmp"], f["secs"])


HEADER = "%-10s %6s %6s %5s %5s %8s %8s %9s %5s %7s" % (
    "target", "rounds", "kills", "lost", "dups", "partial", "unknown", "badstore", "tmp", "secs")


def main(argv):
    ap = argparse.ArgumentParser(description="SIGKILL each process of the chain at random moments")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--server-maildir", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--orig", required=True)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--label", default="")
    a = ap.parse_args(argv[1:])
    targets = a.targets.split(",")
    for t in targets:
        if t not in TARGETS:
            sys.stderr.write("killsuite.py: unknown target %s\n" % t)
            return 2
    s = Suite(a)
    s.setup()
    accs = sorted({s.account(t, r) for t in targets for r in (0, 1, 2)})
    try:
        for acc in accs:
            s.measure(acc)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        sys.stderr.write("killsuite.py: %s\n" % e)
        return 2
    rng = random.Random(a.seed)
    figs = {t: dict(rounds=0, kills=0, lost=0, dups=0, partial=0, unknown=0, badstore=0, tmp=0, secs=0.0)
            for t in targets}
    bad = 0
    for n in range(a.kills):
        target = targets[n % len(targets)]
        f = figs[target]
        acc = s.account(target, f["rounds"])
        s.reset(acc)
        if target == "rcparse":
            delay = rng.uniform(0, 0.002)
        else:
            delay = rng.uniform(0, s.durations[acc])
        t = time.monotonic()
        killed, left = s.kill_round(target, acc, delay)
        f["rounds"] += 1
        if killed:
            f["kills"] += 1
        what = "round %d: %s (account %s, kill at %.3f s, killed %s)" % (n + 1, target, acc, delay, killed)
        rc, out = s.uidls_check(acc)
        if rc != 0:
            f["badstore"] += 1
            bad += 1
            sys.stderr.write("%s: uidlstore check: %s\n" % (what, out))
        if acc != "mbox":
            tmpdir = os.path.join(s.target_path(acc), "tmp")
            for name in os.listdir(tmpdir):
                if name.startswith(".mdeliver-"):
                    continue  # mdeliver's batch record: the rerun needs it
                f["tmp"] += 1
                os.unlink(os.path.join(tmpdir, name))
        rp = s.start([os.path.join(a.bin, "mpop"), "-q", "-C", s.rc, acc])
        s.wait_session(rp)
        if rp.returncode != 0:
            bad += 1
            sys.stderr.write("%s: the rerun exited %d (see %s)\n" % (what, rp.returncode, s.log))
        fig, details = s.compare(acc)
        f["lost"] += fig.get("lost", 0)
        f["dups"] += fig.get("duplicate", 0)
        f["partial"] += fig.get("corrupt", 0)
        f["unknown"] += fig.get("unknown", 0)
        if fig.get("lost", 0) or fig.get("corrupt", 0) or fig.get("unknown", 0) or "lost" not in fig:
            bad += 1
            sys.stderr.write("%s: %s\n%s" % (what, fig, details))
        if s.server_left():
            bad += 1
            sys.stderr.write("%s: %d messages left on the server\n" % (what, s.server_left()))
        f["secs"] += time.monotonic() - t
    total = dict(rounds=0, kills=0, lost=0, dups=0, partial=0, unknown=0, badstore=0, tmp=0, secs=0.0)
    print("kill suite%s: %d rounds, seed %d, sessions of %s" % (
        " (%s)" % a.label if a.label else "", a.kills, a.seed,
        ", ".join("%s %.2f s" % (k, v) for k, v in sorted(s.durations.items()))))
    print(HEADER)
    for t in targets:
        print(row(t, figs[t]))
        for k in total:
            total[k] += figs[t][k]
    print(row("total", total))
    sys.stdout.flush()
    if total["dups"] > total["kills"]:
        sys.stderr.write("killsuite.py: %d duplicates for %d kills\n" % (total["dups"], total["kills"]))
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
