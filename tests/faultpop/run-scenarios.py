#!/usr/bin/python3
"""run-scenarios: run an mpop-compatible client against faultpop scenarios
and compare the outcome with each scenario's expect-* directives.

    run-scenarios.py --client /usr/bin/mpop [--timeout 20] [--keep-dirs DIR]
                     [--jobs N] [SCENARIO...]   (default: every scenarios/*.scn)

For each scenario: start faultpop (with a throw-away certificate), run the
client with the options of the scenario's `client` directive in --host mode
(`--auth`, `--tls*`, `--timeout`, `--user`, `--passwordeval`, maildir
delivery, a private UIDLs file), as many times as `client runs=` says, each
under a hard timeout, then check:

  exit       each run's status is one of its expect-exit codes
  delivered  the number of files in the maildir matches expect-delivered
  deleted    the server's committed deletions equal expect-deleted

Prints one line per scenario (PASS/FAIL and the details), in the order
given, and exits 1 if any failed. --jobs N runs N scenarios at a time (each
has its own server, port and files; most of a run is waiting on stalls). A status of 124 means the client was killed by the timeout (mpop
1.4.18 loops forever on EOF inside a message).
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAULTPOP = os.path.join(HERE, "faultpop.py")
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "3650",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def client_args(desc, cert, port, secret_file, md, uidls):
    c = desc["client"]
    auth = c.get("auth", "user")
    tls = c.get("tls", "off")
    args = ["--host=127.0.0.1", "--port=%d" % port,
            "--user=%s" % c.get("user", desc["user"]),
            "--passwordeval=cat '%s'" % secret_file,
            "--auth=%s" % auth, "--delivery=maildir,%s" % md,
            "--uidls-file=%s" % uidls]
    if tls == "off":
        args.append("--tls=off")
    else:
        args += ["--tls=on", "--tls-trust-file=%s" % cert,
                 "--tls-starttls=%s" % ("on" if tls == "starttls" else "off")]
    if "timeout" in c:
        args.append("--timeout=%s" % c["timeout"])
    if "keep" in c:
        args.append("--keep=%s" % c["keep"])
    return args


def run_one(scn, client, timeout, workdir, cert, key):
    desc = json.loads(subprocess.run([PY, FAULTPOP, "--scenario", scn, "--describe"],
                                     check=True, capture_output=True).stdout)
    runs = int(desc["client"].get("runs", "1"))
    d = os.path.join(workdir, os.path.basename(scn)[:-4])
    os.makedirs(d)
    md = os.path.join(d, "md")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    secret_file = os.path.join(d, "secret")
    secret = subprocess.run([PY, FAULTPOP, "--scenario", scn, "--print", "client-password"],
                            check=True, capture_output=True).stdout.rstrip(b"\n")
    with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as fh:
        fh.write(secret)
    port_file, state = os.path.join(d, "port"), os.path.join(d, "state.json")
    server = subprocess.Popen(
        [PY, FAULTPOP, "--scenario", scn, "--port-file", port_file,
         "--log", os.path.join(d, "log.jsonl"), "--state", state,
         "--sessions", str(runs), "--tls-cert", cert, "--tls-key", key],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(d, "server.err"), "wb"))
    codes = []
    try:
        for _ in range(100):
            if os.path.exists(port_file) or server.poll() is not None:
                break
            time.sleep(0.1)
        if not os.path.exists(port_file):
            return False, "faultpop did not start (see %s/server.err)" % d
        port = int(open(port_file).read())
        args = client_args(desc, cert, port, secret_file, md, os.path.join(d, "uidls"))
        for i in range(runs):
            with open(os.path.join(d, "client.%d.out" % (i + 1)), "wb") as out:
                try:
                    codes.append(subprocess.run([client] + args, stdin=subprocess.DEVNULL,
                                                stdout=out, stderr=out,
                                                timeout=timeout).returncode)
                except subprocess.TimeoutExpired:
                    codes.append(124)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
    problems = []
    for i, code in enumerate(codes):
        want = desc["expect_exit"][i] if i < len(desc["expect_exit"]) else None
        if want is not None and code not in want:
            problems.append("run %d exit %d, want %s" % (i + 1, code, "/".join(map(str, want))))
    total = len(desc["messages"])
    delivered = len(os.listdir(os.path.join(md, "new"))) + len(os.listdir(os.path.join(md, "cur")))
    exp = desc.get("expect_delivered")
    if exp is not None:
        want = total if exp == ["all"] else 0 if exp == ["none"] else len(exp)
        if delivered != want:
            problems.append("delivered %d, want %d" % (delivered, want))
    deleted = json.load(open(state))["deleted"] if os.path.exists(state) else []
    exp = desc.get("expect_deleted")
    if exp is not None:
        keys = [m["key"] for m in desc["messages"]]
        want = keys if exp == ["all"] else [] if exp == ["none"] else exp
        if sorted(set(deleted)) != sorted(set(want)):
            problems.append("deleted %s, want %s" % (deleted, want))
    detail = "exit %s, delivered %d, deleted %d" % (
        ",".join(map(str, codes)), delivered, len(deleted))
    return not problems, "; ".join(problems) or detail


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--client", required=True, help="mpop-compatible program")
    p.add_argument("--timeout", type=float, default=20.0,
                   help="hard limit per client run (default 20 s)")
    p.add_argument("--keep-dirs", metavar="DIR",
                   help="keep every run's files (logs, maildir, output) under DIR")
    p.add_argument("--jobs", type=int, default=1, help="scenarios run at a time (default 1)")
    p.add_argument("scenarios", nargs="*")
    a = p.parse_args()
    scns = a.scenarios or sorted(
        os.path.join(HERE, "scenarios", f) for f in os.listdir(os.path.join(HERE, "scenarios"))
        if f.endswith(".scn"))
    work = a.keep_dirs or tempfile.mkdtemp(prefix="faultpop-run.")
    os.makedirs(work, exist_ok=True)
    failed = 0
    try:
        certdir = os.path.join(work, ".tls")
        os.makedirs(certdir, exist_ok=True)
        cert, key = make_cert(certdir)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            futures = [pool.submit(run_one, os.path.abspath(scn), a.client, a.timeout, work, cert, key)
                       for scn in scns]
            for scn, fut in zip(scns, futures):
                ok, detail = fut.result()
                failed += not ok
                print("%s %-32s %s" % ("PASS" if ok else "FAIL",
                                       os.path.basename(scn)[:-4], detail), flush=True)
    finally:
        if not a.keep_dirs:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (len(scns) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
