#!/usr/bin/env python3
"""pty_drive.py LOG STEP... -- CMD ARG...: runs CMD on a pseudo-terminal (its
stdin, stdout and stderr), as a person at a terminal would, and follows the
steps in order:
  expect:REGEX   wait (at most 120 s) until the terminal's output so far
                 matches REGEX (Python re, DOTALL) after the last match
  send:TEXT      type TEXT (\\r, \\x1d and other escapes decoded)
  sleep:SECONDS  wait
  exit:STATUS    wait (at most 120 s) for CMD to end with STATUS
Everything the terminal showed goes to LOG. Then it checks that the
terminal's mode is what it was before CMD (a raw mode left behind is a
failure). Exit 0 when every step held, 1 with the step and the output's
tail otherwise."""
import codecs
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time

i = sys.argv.index("--")
log_path, steps, cmd = sys.argv[1], sys.argv[2:i], sys.argv[i + 1:]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
out = b""
seen = 0  # output before this offset was matched already


def pump(timeout):
    """Reads what the terminal shows within `timeout`: "data", "quiet"
    (nothing came) or "closed" (every holder of the other side is gone)."""
    global out
    r, _, _ = select.select([master], [], [], timeout)
    if not r:
        return "quiet"
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO
        return "closed"
    out += data
    return "data" if data else "closed"


def fail(why):
    with open(log_path, "wb") as f:
        f.write(out)
    tail = out[-600:].decode(errors="replace")
    print(f"pty_drive: {why}; the terminal's last output:\n{tail}", file=sys.stderr)
    proc.kill()
    sys.exit(1)


for step in steps:
    kind, _, arg = step.partition(":")
    if kind == "expect":
        pat = re.compile(arg.encode(), re.S)
        deadline = time.time() + 120
        while not pat.search(out, seen):
            if time.time() > deadline:
                fail(f"no {arg!r} within 120 s")
            if pump(0.2) == "closed" and proc.poll() is not None:
                fail(f"the program ended (status {proc.returncode}) before {arg!r}")
        seen = pat.search(out, seen).end()
    elif kind == "send":
        os.write(master, codecs.decode(arg, "unicode_escape").encode("latin-1"))
    elif kind == "sleep":
        end = time.time() + float(arg)
        while time.time() < end:
            pump(0.1)
    elif kind == "exit":
        deadline = time.time() + 120
        while proc.poll() is None:
            if time.time() > deadline:
                fail("the program did not end within 120 s")
            pump(0.2)
        while pump(0.1) == "data":  # what it printed last
            pass
        if proc.returncode != int(arg):
            fail(f"status {proc.returncode}, wanted {arg}")
    else:
        fail(f"unknown step {step!r}")

with open(log_path, "wb") as f:
    f.write(out)
if termios.tcgetattr(slave) != before:
    print("pty_drive: the terminal's mode was not restored", file=sys.stderr)
    sys.exit(1)
