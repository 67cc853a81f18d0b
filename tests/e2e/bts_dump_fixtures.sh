#!/usr/bin/env bash
# bts_dump on .bts files generated from the text fixtures in
# tests/data/bts/fixtures: the plain dump must equal what make_bts.py (an
# independent implementation of docs/bts-format.md) expects; --json must
# carry index/from/to/brctr; broken files must fail with exit 2 and a
# message naming the file and the offset.
set -euo pipefail
: "${XENTT_SOURCE:?}" "${XENTT_BIN:?}"
fx=$XENTT_SOURCE/tests/data/bts/fixtures
mk=$XENTT_SOURCE/tests/data/bts/make_bts.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for f in raw extended; do
  python3 "$mk" "$fx/$f.txt" "$tmp/$f.bts" --expect > "$tmp/$f.expect"
  "$XENTT_BIN/bts_dump" "$tmp/$f.bts" > "$tmp/$f.out"
  diff -u "$tmp/$f.expect" "$tmp/$f.out" || fail "$f: dump differs from the fixture"
done

# Several files in one run print one after the other.
"$XENTT_BIN/bts_dump" "$tmp/raw.bts" "$tmp/extended.bts" > "$tmp/both.out"
cat "$tmp/raw.expect" "$tmp/extended.expect" | diff -u - "$tmp/both.out" || fail "two files"

# JSON: one object per record with index, from, to and brctr when extended.
"$XENTT_BIN/bts_dump" --json "$tmp/extended.bts" "$tmp/raw.bts" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 6, rows
assert rows[0] == {"index": 0, "from": "0x401000", "to": "0x401100", "brctr": 7}, rows[0]
assert rows[2]["brctr"] == 0x123456789 and rows[2]["from"] == "0xffffffff81000000", rows[2]
assert "brctr" not in rows[3] and rows[3]["index"] == 0, rows[3]
' || fail "json"

# -x insists on an extended file.
set +e
"$XENTT_BIN/bts_dump" -x "$tmp/raw.bts" > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "raw.bts" "$tmp/err" || fail "-x on a raw file: rc=$rc $(cat "$tmp/err")"
"$XENTT_BIN/bts_dump" -x "$tmp/extended.bts" > /dev/null || fail "-x on an extended file"

# A size that is not a multiple of 24: exit 2, the file and the offset named.
printf 'format raw\n401000 401100\n401105 401000\ntrailing 5\n' > "$tmp/trunc.txt"
python3 "$mk" "$tmp/trunc.txt" "$tmp/trunc.bts"
set +e
"$XENTT_BIN/bts_dump" "$tmp/trunc.bts" > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "truncated file: exit $rc"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "truncated file: more than one line: $(cat "$tmp/err")"
grep -q "trunc.bts: size 53 is not a multiple of 24.*offset 48" "$tmp/err" || fail "message: $(cat "$tmp/err")"

# A missing file and a directory: exit 2, named.
set +e
"$XENTT_BIN/bts_dump" "$tmp/nope.bts" > /dev/null 2> "$tmp/err"; rc=$?
"$XENTT_BIN/bts_dump" "$tmp" > /dev/null 2> "$tmp/err2"; rc2=$?
set -e
[ $rc -eq 2 ] && grep -q "nope.bts" "$tmp/err" || fail "missing file: rc=$rc $(cat "$tmp/err")"
[ $rc2 -eq 2 ] && grep -q "directory" "$tmp/err2" || fail "directory: rc=$rc2 $(cat "$tmp/err2")"

# Pipes: a .bts from a pipe with a writer reads as the file does, also a
# named FIFO whose writer comes a moment after bts_dump opened it; a FIFO
# nobody writes to is refused after a bounded wait (exit 2, one line
# naming it), never waited on forever (`timeout` turns a hang into a
# failure).
"$XENTT_BIN/bts_dump" <(cat "$tmp/raw.bts") > "$tmp/pipe.out"
diff -u "$tmp/raw.expect" "$tmp/pipe.out" || fail "a .bts from a pipe"
cat "$tmp/extended.bts" | "$XENTT_BIN/bts_dump" /dev/stdin > "$tmp/stdin.out"
diff -u "$tmp/extended.expect" "$tmp/stdin.out" || fail "a .bts on stdin"
mkfifo "$tmp/fifo.bts"
(sleep 1; cat "$tmp/raw.bts" > "$tmp/fifo.bts") &
timeout 30 "$XENTT_BIN/bts_dump" "$tmp/fifo.bts" > "$tmp/fifo.out" || fail "a FIFO with a late writer: exit $?"
wait
diff -u "$tmp/raw.expect" "$tmp/fifo.out" || fail "a FIFO with a late writer"
set +e
timeout 30 "$XENTT_BIN/bts_dump" "$tmp/fifo.bts" > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -ne 124 ] || fail "a FIFO without a writer: still waiting after 30 s"
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "fifo.bts: .*FIFO" "$tmp/err" ||
  fail "a FIFO without a writer: rc=$rc $(cat "$tmp/err")"
echo "ok: $(cat "$tmp/err")"

# An empty file is a valid trace of no branches.
: > "$tmp/empty.bts"
[ -z "$("$XENTT_BIN/bts_dump" "$tmp/empty.bts")" ] || fail "empty file"

# --symbols without symbol files is a usage error.
set +e
"$XENTT_BIN/bts_dump" --symbols "$tmp/raw.bts" > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "--symbols without files: exit $rc"
echo "PASS"
