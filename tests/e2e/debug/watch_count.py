# gdb script (gdb -x): watches the expression in $XENTT_WATCH, continues
# forward until the end of the recording counting the stops, then reverse-
# continues back to its start counting them again; prints both counts and
# the value at each end. Stops are counted from gdb's stop events: a
# watchpoint stop is a BreakpointEvent, the end of history a plain stop.
import os

import gdb

stops = []
gdb.events.stop.connect(lambda e: stops.append(e))
expr = os.environ["XENTT_WATCH"]


def run(cmd):
    n = 0
    while True:
        gdb.execute(cmd, to_string=True)
        if not isinstance(stops[-1], gdb.BreakpointEvent):
            return n
        n += 1


gdb.execute("watch " + expr)
forward = run("continue")
print("forward stops %d, %s=%d" % (forward, expr, int(gdb.parse_and_eval(expr))))
backward = run("reverse-continue")
print("backward stops %d, %s=%d" % (backward, expr, int(gdb.parse_and_eval(expr))))
