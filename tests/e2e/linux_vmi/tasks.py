# drgn script (tests/e2e/vmi_linux.sh): every task of the core, "PID COMM".
from drgn.helpers.linux.pid import for_each_task

for t in for_each_task(prog):
    print(t.pid.value_(), t.comm.string_().decode())
