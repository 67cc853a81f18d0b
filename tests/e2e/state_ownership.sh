# tt_record -D and -f delete only state directories xentt created, and only
# what xentt created in them (issue 11, first finding: -D deleted any
# directory or file it was pointed at, -f wiped any directory's contents).
# Every refusal is one line, exit 2, suggests nothing destructive, and
# leaves every byte where it was.
source "$(dirname "$0")/lib/common.bash"

# snapshot DIR: every path, type, size and checksum under DIR, for "untouched".
snapshot() { (cd "$1" && find . -printf '%p %y %s %l\n' | sort && find . -type f -exec md5sum {} + | sort); }

# refused DESCRIPTION PATH COMMAND...: the command exits 2 in one line that
# says PATH is not a state directory, suggests neither -f nor -D, and
# leaves PATH exactly as it was.
refused() {
  local what=$1 path=$2
  shift 2
  local before
  before=$(snapshot "$(dirname "$path")")
  expect_exit 2 "not a xentt state directory" "$@"
  check "$what: the message suggests nothing destructive" bash -c "! grep -qE -- '-f |-D |replaces|destroys' '$TMP/err'"
  check "$what: everything is still there" test "$before" = "$(snapshot "$(dirname "$path")")"
}

# A directory of the user's, with a subdirectory and a file.
mkdir -p "$TMP/user/d/sub"
echo important >"$TMP/user/d/important.txt"
echo keep >"$TMP/user/d/sub/keep"
refused "-D on a user's directory" "$TMP/user/d" tt_record -D -s "$TMP/user/d" v1
refused "-f on a user's directory" "$TMP/user/d" tt_record -f -k "$XENTT_GUEST" -s "$TMP/user/d" v1
refused "recording into a user's directory" "$TMP/user/d" tt_record -k "$XENTT_GUEST" -s "$TMP/user/d" v1

# A plain file.
echo precious >"$TMP/user/file"
refused "-D on a file" "$TMP/user/file" tt_record -D -s "$TMP/user/file" v1
refused "-f on a file" "$TMP/user/file" tt_record -f -k "$XENTT_GUEST" -s "$TMP/user/file" v1

# A directory standing in for /: system-like folders, files at the top.
mkdir -p "$TMP/user/root/etc" "$TMP/user/root/home/u" "$TMP/user/root/bin"
echo 'root:x:0:0' >"$TMP/user/root/etc/passwd"
echo notes >"$TMP/user/root/home/u/notes"
refused "-D on a directory standing in for /" "$TMP/user/root" tt_record -D -s "$TMP/user/root" v1
refused "-f on a directory standing in for /" "$TMP/user/root" tt_record -f -k "$XENTT_GUEST" -s "$TMP/user/root" v1

# A symbolic link named as the state directory, to a directory of the user's:
# neither the link nor what it points at is deleted.
ln -s "$TMP/user/d" "$TMP/user/link"
refused "-D on a link to a user's directory" "$TMP/user/link" tt_record -D -s "$TMP/user/link" v1

# A real recording: -D removes it whole.
record_demo demo
check "a recording carries xentt's marker" test -f "$XENTT_STATE/demo/xentt-state.json"
tt_record -D demo >"$TMP/out" 2>"$TMP/err" || fail "tt_record -D demo: $(cat "$TMP/err")"
check "-D removed the recording" test ! -e "$XENTT_STATE/demo"
check "and nothing beside it" test -z "$(ls -A "$XENTT_STATE")"

# Links inside a recording that point out of it: -D removes the links,
# never what they point at.
record_demo demo
mkdir -p "$TMP/outside/dir"
echo outside >"$TMP/outside/dir/file"
echo outside >"$TMP/outside/file"
ln -s "$TMP/outside/dir" "$XENTT_STATE/demo/recording/linkdir"
ln -s "$TMP/outside/file" "$XENTT_STATE/demo/recording/linkfile"
rm -rf "$XENTT_STATE/demo/replays"
ln -s "$TMP/outside" "$XENTT_STATE/demo/replays"
before=$(snapshot "$TMP/outside")
tt_replay -K demo >/dev/null 2>&1 || true
tt_record -D demo >"$TMP/out" 2>"$TMP/err" || fail "tt_record -D demo with links inside: $(cat "$TMP/err")"
check "-D removed the recording with links inside" test ! -e "$XENTT_STATE/demo"
check "what the links pointed at is untouched" test "$before" = "$(snapshot "$TMP/outside")"

# A file of the user's put into a recording: -D refuses, names it, and
# deletes nothing; once the user moves it out, -D goes ahead.
record_demo demo
echo mine >"$XENTT_STATE/demo/my-notes.txt"
before=$(snapshot "$XENTT_STATE")
expect_exit 2 "my-notes.txt" tt_record -D demo
check "a recording holding a file xentt did not create is left whole" test "$before" = "$(snapshot "$XENTT_STATE")"
check "-f refuses it too" bash -c "! tt_record -f -c -k '$XENTT_GUEST' -a ticks=10 --device '$DEMO_DEVICE' demo 2>/dev/null"
check "and leaves it whole" test "$before" = "$(snapshot "$XENTT_STATE")"
mv "$XENTT_STATE/demo/my-notes.txt" "$TMP/"
tt_record -D demo >/dev/null || fail "-D after the user's file was moved out"
check "then -D removes it" test ! -e "$XENTT_STATE/demo"

# -f over a real recording replaces it.
record_demo demo
tt_record -f -c -k "$XENTT_GUEST" -a "ticks=20 seed=5" --device "$DEMO_DEVICE" demo >"$TMP/out" 2>"$TMP/err" ||
  fail "-f over a recording: $(cat "$TMP/err")"
check "-f replaced the recording" grep -q 'ticks=20 seed=5' "$XENTT_STATE/demo/config.json"

# An existing empty directory of the user's may hold a recording; -D then
# empties it and leaves the directory itself, which xentt did not create.
mkdir "$TMP/user/empty"
tt_record -c -k "$XENTT_GUEST" -a "ticks=10" --device "$DEMO_DEVICE" -s "$TMP/user/empty" e1 >/dev/null 2>"$TMP/err" ||
  fail "recording into an empty directory: $(cat "$TMP/err")"
tt_replay --verify -s "$TMP/user/empty" e1 >/dev/null || fail "the recording in the user's empty directory does not verify"
tt_record -D -s "$TMP/user/empty" e1 >/dev/null || fail "-D of a recording in the user's directory"
check "-D emptied the user's directory and left it" test -d "$TMP/user/empty" -a -z "$(ls -A "$TMP/user/empty")"

# / itself, in a throwaway mount namespace whose root is a tmpfs holding
# tt_record, its libraries and a few files of "the system".
if [ "$(id -u)" = 0 ]; then
  root="$TMP/nsroot"
  mkdir "$root"
  unshare -m --propagation private bash -euc '
    root=$1 bin=$2
    mount -t tmpfs tmpfs "$root"
    mkdir -p "$root/bin" "$root/etc" "$root/home/u"
    cp "$bin/tt_record" "$root/bin/"
    for lib in $(ldd "$bin/tt_record" | grep -o "/[^ ]*"); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
    echo "root:x:0:0" >"$root/etc/passwd"
    echo notes >"$root/home/u/notes"
    (cd "$root" && find . | sort) >"$root/../before"
    st=0
    chroot "$root" /bin/tt_record -D -s / v1 2>"$root/../err" || st=$?
    (cd "$root" && find . | sort) >"$root/../after"
    echo "$st" >"$root/../status"
  ' _ "$root" "$XENTT_BIN" || fail "could not set up the mount namespace"
  cat "$TMP/err"
  check "-D -s / is refused with status 2" test "$(cat "$TMP/status")" = 2
  check "it says / is not a state directory, in one line" \
    bash -c "grep -q 'not a xentt state directory' '$TMP/err' && test \$(wc -l <'$TMP/err') = 1"
  check "/ is untouched" cmp -s "$TMP/before" "$TMP/after"
else
  echo "note: not root: the / case ran only on the directory standing in for it"
fi

check "no QEMU left behind" no_qemu_left
