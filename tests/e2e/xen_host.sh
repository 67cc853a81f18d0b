# Engine xen where there is no Xen (this machine, CI): tt_vmi --xen says it
# is not on a Xen host (exit 1, one line, naming what to do); recording
# with engine xen is refused before anything is created (exit 2, the
# message names engine qemu for the same kernel); an unknown engine names
# the engines there are; a recording's tt_vmi trace says the engine traces
# replays; tt_replay of a config naming engine xen is refused. The lab
# (xen_lab.sh) checks the rest on a real Xen.
source "$(dirname "$0")/lib/common.bash"
[ -e /dev/xen/privcmd ] && skip "this is a Xen host: xen_lab.sh's checks apply"

expect_exit 1 'not on a Xen host: /dev/xen/privcmd is missing (run in dom0' tt_vmi --xen somedomain regs
check "not on Xen: nothing on stdout" test ! -s "$TMP/out"

expect_exit 2 'engine xen cannot record: Xen has no record/replay' \
  tt_record --engine xen -k "$XENTT_GUEST" -s "$TMP/rec" xenvm
check "tt_record --engine xen: names engine qemu" grep -q 'engine qemu' "$TMP/err"
check "tt_record --engine xen: no state directory made" test ! -e "$TMP/rec"

expect_exit 2 "engine 'bochs' is not part of this xentt (engines here: qemu, xen)" \
  tt_record --engine bochs -k "$XENTT_GUEST" -s "$TMP/rec" xenvm

# A paused replay of engine qemu asked for a live trace.
record_demo xh
tt_replay --until icount=20000 xh >"$TMP/p.out" 2>"$TMP/p.err" || fail "tt_replay --until: $(cat "$TMP/p.err")"
cleanup_hooks+=("tt_replay -K xh >/dev/null 2>&1")
expect_exit 2 'does not trace a live VM: it traces replays (trace_task)' tt_vmi xh trace -o "$TMP/t.bts"
check "tt_vmi trace on a replay: no file" test ! -e "$TMP/t.bts"

# A recording whose config names engine xen (hand-edited: tt_record makes
# none) is refused by tt_replay with the same message, exit 2.
python3 -c "
import json; p='$XENTT_STATE/xh/config.json'; j = json.load(open(p)); j['engine'] = 'xen'; json.dump(j, open(p, 'w'))"
tt_replay -K xh >/dev/null 2>&1 || true
expect_exit 2 'engine xen cannot replay: Xen has no record/replay' tt_replay --until icount=100 xh
check "tt_replay of an engine-xen config: names engine qemu" grep -q 'engine qemu' "$TMP/err"
