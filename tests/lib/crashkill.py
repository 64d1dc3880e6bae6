#!/usr/bin/python3
"""Run a command in its own process group and SIGKILL the whole group.

  crashkill.py DELAY [--max SECONDS] -- COMMAND [ARGS...]

Starts COMMAND in a new session (so that every process it spawns is in its
process group), waits DELAY seconds (a float), then sends SIGKILL to the
whole group, unless COMMAND has already exited. Waits for COMMAND to end
(at most --max seconds, default 60, after which the group is killed too).
Standard input is /dev/null; standard output and error are inherited.

Prints one line: "killed" when the kill happened while COMMAND ran,
"exited N" when COMMAND ended on its own before the delay.
Exit status: 0, or 2 on a usage error.
"""

import os
import signal
import subprocess
import sys
import time


def group_alive(pgid):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def main(argv):
    if "--" not in argv:
        sys.stderr.write(__doc__)
        return 2
    i = argv.index("--")
    opts, cmd = argv[1:i], argv[i + 1:]
    if not opts or not cmd:
        sys.stderr.write(__doc__)
        return 2
    delay = float(opts[0])
    limit = 60.0
    if len(opts) == 3 and opts[1] == "--max":
        limit = float(opts[2])
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=delay)
        print("exited %d" % rc)
        # children may linger in the group: they are part of the run
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return 0
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + limit
    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    # wait until no live process is left in the group (zombies reparented
    # to a pid 1 that does not reap do not count)
    while time.monotonic() < deadline and group_alive(proc.pid):
        time.sleep(0.01)
    print("killed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
