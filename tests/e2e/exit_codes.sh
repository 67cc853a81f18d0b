# One exit-status contract for every program (xentt(7)): 0 ok, 1 runtime
# failure, 2 bad usage or bad input; every error one line on stderr,
# prefixed with the program's name, never "internal error", never raw bytes
# from a file. Checked per program, in each of its modes.
source "$(dirname "$0")/lib/common.bash"

# status WANT COMMAND...: exit status WANT; on failure one printable line on
# stderr naming the program and no "internal error"; a hang is a failure.
status() {
  local want=$1 st=0
  shift
  timeout 300 "$@" >"$TMP/out" 2>"$TMP/err" || st=$?
  [ "$st" = "$want" ] || fail "$* exited $st, want $want: $(head -3 "$TMP/err")"
  if [ "$want" != 0 ]; then
    [ "$(wc -l <"$TMP/err")" = 1 ] || fail "$*: not one line on stderr: $(cat "$TMP/err")"
    local prog a p
    for a in "$@"; do  # the program, also when run through sh -c or env
      for p in tt_record tt_replay trace_task bts_extract bts_dump tt_symbolize xentt_dumplog xentt_savelog; do
        [[ -z "${prog:-}" && " $a " == *" $p "* || -z "${prog:-}" && "$a" == "$p" ]] && prog=$p
      done
    done
    grep -q "^$prog: " "$TMP/err" || fail "$*: stderr does not start with the program's name ($prog): $(cat "$TMP/err")"
    ! grep -q "internal error" "$TMP/err" || fail "$*: $(cat "$TMP/err")"
    ! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$TMP/err" || fail "$*: raw control bytes on stderr"
  fi
  echo "ok: $want <- $*${want:+: $(head -c 160 "$TMP/err")}"
}

record_demo demo
S=$XENTT_STATE/demo
trace_window win "$S" checked_div checked_div_fixup
printf 'not a trace log\n' >"$TMP/bad.xtl"
printf '0123456789abcdefghijklmno' >"$TMP/bad.bts"  # 25 bytes: not whole records
nm "$XENTT_GUEST" | awk '$3=="work_sieve"{print "0x" $1}' >"$TMP/addr"
printf 'x\nbad\x01\x1b[31m\x00y\n' >"$TMP/garbage"

for p in tt_record tt_replay trace_task bts_extract bts_dump tt_symbolize xentt_dumplog xentt_savelog; do
  status 0 "$p" --help
  status 2 "$p" --no-such-option
done

# bts_dump
status 0 bts_dump "$TMP/win.bts"
status 2 bts_dump "$TMP/bad.bts"
status 2 bts_dump "$TMP/nothere.bts"
status 2 bts_dump --symbols -e "$TMP/garbage" "$TMP/win.bts"
status 1 sh -c "exec bts_dump '$TMP/win.bts' >/dev/full"
# A NUL and escape bytes in a state directory's symbol-file list: the whole
# message, escaped (a NUL used to cut it to "tt_replay: /.../X/"). A file
# that a state directory lists is a warning (its addresses print raw).
mkdir "$TMP/nulstate"
printf 'kernel\000tail\033[2J\n' >"$TMP/nulstate/symfiles"
bts_dump --symbols -s "$TMP/nulstate" "$TMP/win.bts" >/dev/null 2>"$TMP/err" || fail "bts_dump -s with a bad list: $(cat "$TMP/err")"
grep -qF 'nulstate/kernel\x00tail\x1b[2J: cannot open' "$TMP/err" ||
  fail "the NUL and the escape are not shown escaped: $(cat "$TMP/err")"
! LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$TMP/err" || fail "raw control bytes in the warning"
echo "ok: the bad list's warning, escaped: $(cat "$TMP/err")"
# tt_symbolize
status 0 tt_symbolize -e "$XENTT_GUEST" <"$TMP/addr"
status 2 tt_symbolize -e "$TMP/nothere" <"$TMP/addr"
status 2 tt_symbolize -e "$TMP/garbage" <"$TMP/addr"
status 1 sh -c "exec tt_symbolize -e '$XENTT_GUEST' <'$TMP/addr' >/dev/full"
# xentt_dumplog, bts_extract
for mode in "" --json --frames --records; do
  status 0 xentt_dumplog $mode "$TMP/win.xtl"
  status 2 xentt_dumplog $mode "$TMP/bad.xtl"
done
status 1 sh -c "exec xentt_dumplog --records '$TMP/win.xtl' >/dev/full"
status 0 bts_extract -x -o "$TMP/e.bts" "$TMP/win.xtl"
status 2 bts_extract -o "$TMP/e.bts" "$TMP/bad.xtl"
status 2 bts_extract -S notanumber "$TMP/win.xtl"
status 1 bts_extract -o /dev/full "$TMP/win.xtl"
status 1 bts_extract --send "unix:$TMP/nobody.sock" "$TMP/win.xtl"
status 2 bts_extract --send "unix:$TMP/nobody.sock" "$TMP/bad.xtl"
# xentt_savelog (its serving: e2e trace_stream)
status 2 xentt_savelog "tcp:1234" -o "$TMP/saved"
status 2 xentt_savelog "unix:$TMP/bad.xtl" -o "$TMP/saved"
# tt_record
status 2 tt_record -k "$XENTT_GUEST" "bad name"
status 2 tt_record -k "$TMP/nothere" newvm
status 2 tt_record -S nosuchvm
status 2 tt_record -D nosuchvm
echo file >"$TMP/afile"
status 2 tt_record -k "$XENTT_GUEST" -s "$TMP/afile/sub" v1
status 1 env XENTT_QEMU="$TMP/nothere-qemu" tt_record -k "$XENTT_GUEST" noqemu
# tt_replay
status 0 tt_replay -q --verify demo
status 2 tt_replay nosuchvm
status 2 tt_replay --until nosuchsymbol demo
status 2 tt_replay --until icount=999999999999 demo
status 2 tt_replay --until "$(printf 'a\001b')" demo
status 1 env XENTT_QEMU="$TMP/nothere-qemu" tt_replay --verify demo
status 0 tt_replay -K demo
# trace_task
status 0 trace_task -q -o "$TMP/t.bts" "$S" checked_div checked_div_fixup
status 2 trace_task -o "$TMP/t.bts" "$S" nosuchsymbol checked_div_fixup
status 2 trace_task -o "$TMP/t.bts" "$TMP/nothere" checked_div checked_div_fixup
status 1 env XENTT_QEMU="$TMP/nothere-qemu" trace_task -o "$TMP/t.bts" "$S" checked_div checked_div_fixup

# A read-only state directory (a read-only tmpfs in a private mount
# namespace): the file system refused, status 1, one line, no "internal error".
if [ "$(id -u)" = 0 ]; then
  mkdir "$TMP/ro"
  st=0
  unshare -m --propagation private bash -c '
    mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"' _ "$TMP/ro" \
    tt_record -k "$XENTT_GUEST" -s "$TMP/ro/vm" v1 >"$TMP/out" 2>"$TMP/err" || st=$?
  [ $st = 1 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && ! grep -q "internal error" "$TMP/err" ||
    fail "a read-only state directory: exit $st: $(cat "$TMP/err")"
  echo "ok: 1 <- a read-only state directory: $(cat "$TMP/err")"
fi
check "no QEMU left behind" no_qemu_left
