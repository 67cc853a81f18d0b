# The interactive console and the guest's traffic, on a real Linux guest
# (scripts/shell-guest: the Debian cloud kernel, busybox sh on ttyS0, its
# virtio-net modules), driven through a pseudo-terminal as a person types:
#   tt_record -c at a terminal: commands typed into the guest's shell run
#     there (their output, computed by the guest, shows: MARK-$((6*7)) prints
#     MARK-42), a paste arrives whole, `poweroff -f` ends the recording, the
#     terminal's mode is restored;
#   --nic virtio-net-pci --pcap: the guest's DHCP and pings (udhcpc, ping
#     typed at the shell) in a pcap that tshark reads, both directions;
#   tt_replay -c --pcap: the replay's console (with what was typed, replayed
#     from the recording) equals the recording's, and its pcap is identical
#     to the recording's byte for byte, packets and timestamps;
#   Ctrl-] detaches: tt_record returns, the guest goes on recording, and
#     still takes no input from anyone; tt_record -S ends it complete;
#   bad input: --pcap without a network, over an existing file, into a
#     missing directory; tt_replay --pcap of a recording without a network,
#     with --until; -c with --json: exit 2 in one line, nothing made.
source "$(dirname "$0")/lib/common.bash"

command -v tshark >/dev/null || skip "no tshark (scripts/install-deps installs it)"
images=$(bash "$XENTT_SOURCE/scripts/shell-guest" "$TMP/initrd" 2>"$TMP/sg.err") ||
  skip "no shell guest: $(cat "$TMP/sg.err")"
read -r bz _ initrd <<<"$images"
drive="$XENTT_SOURCE/tests/e2e/console/pty_drive.py"
release=$(basename "$(ls /usr/lib/debug/boot/vmlinux-* | tail -1)" | sed 's/^vmlinux-//')
args=(-M 256 -k "$bz" -R "$initrd" -a "console=ttyS0 nokaslr panic=-1")
prompt='/ # '

# --- bad input first: nothing may be made --------------------------------
expect_exit 2 "needs --net or --nic" tt_record -c "${args[@]}" --pcap "$TMP/x.pcap" nonet
check "no state for a refused recording" test ! -e "$XENTT_STATE/nonet"
touch "$TMP/exists.pcap"
expect_exit 2 "exists" tt_record -c "${args[@]}" --net --pcap "$TMP/exists.pcap" existing
check "the existing file is untouched (empty still)" test ! -s "$TMP/exists.pcap"
expect_exit 2 "there is no directory" tt_record "${args[@]}" --net --pcap "$TMP/no/such/dir/x.pcap" nodir
expect_exit 2 "not a network card model" tt_record "${args[@]}" --nic "e1000,netdev=x" badnic
for n in nonet existing nodir badnic; do check "nothing made for $n" test ! -e "$XENTT_STATE/$n"; done

# --- an interactive recording with a network and its traffic --------------
# The whole line of ping and echo goes in one write (a paste).
python3 "$drive" "$TMP/rec.tty" \
  "expect:shell-guest: ready" "expect:$prompt" \
  'send:udhcpc -i eth0 -n -q -s /etc/udhcpc.script >/dev/null; ip -4 -o addr show eth0\r' "expect:inet 10\.0\.2\.15" \
  "expect:$prompt" \
  'send:ping -c 2 10.0.2.2; echo MARK-$((6*7))\r' "expect:2 packets received" "expect:MARK-42" \
  "expect:$prompt" 'send:uname -r\r' "expect:$release" "expect:$prompt" \
  'send:poweroff -f\r' "expect:recorded 'net': ended by guest-poweroff" 'exit:0' \
  -- tt_record -c "${args[@]}" --nic virtio-net-pci --pcap "$TMP/rec.pcap" net ||
  fail "the interactive recording: $(tail -5 "$TMP/rec.tty")"
tr -d '\r' <"$XENTT_STATE/net/console.log" >"$TMP/net.console"
check "the console log has the typed command's output" grep -q '^MARK-42$' "$TMP/net.console"
check "the console log has the guest's own echo of the typed line" grep -q 'echo MARK-\$((6\*7))' "$TMP/net.console"
check "the terminal showed the guest's console" grep -q 'MARK-42' "$TMP/rec.tty"
check "the config records the card" grep -q '"nic": "virtio-net-pci"' "$XENTT_STATE/net/config.json"

tshark -r "$TMP/rec.pcap" -T fields -e frame.time_relative -e eth.src -e eth.dst -e _ws.col.Protocol \
  -e _ws.col.Info 2>/dev/null >"$TMP/rec.packets" || fail "tshark cannot read the recording's pcap"
cat "$TMP/rec.packets"
check "the guest's DHCP discover and the server's ack" grep -q 'DHCP Discover' "$TMP/rec.packets"
check "the server's DHCP ack (a packet to the guest)" grep -q 'DHCP ACK' "$TMP/rec.packets"
check "two pings out" test "$(grep -c 'Echo (ping) request' "$TMP/rec.packets")" = 2
check "two replies in" test "$(grep -c 'Echo (ping) reply' "$TMP/rec.packets")" = 2

# --- the replay: same console, same packets --------------------------------
expect_exit 2 "go with a replay to the end" tt_replay --pcap "$TMP/u.pcap" --until icount=1000 net
expect_exit 2 "give one" tt_replay -c --json net
check "no pcap made by refused replays" test ! -e "$TMP/u.pcap"
timeout 900 tt_replay -c --pcap "$TMP/rep.pcap" net >"$TMP/rep.out" 2>"$TMP/rep.err" ||
  fail "tt_replay -c --pcap: $(cat "$TMP/rep.err")"
check "the replay says its console is the recording's" grep -q "console identical to the recording" "$TMP/rep.out"
tr -d '\r' <"$TMP/rep.out" >"$TMP/rep.console"
check "tt_replay -c printed the replayed console: the typed command's output" grep -q '^MARK-42$' "$TMP/rep.console"
check "tt_replay -c printed the console before its summary" \
  test "$(grep -n '^MARK-42$' "$TMP/rep.console" | cut -d: -f1)" -lt "$(grep -n 'replayed .net.' "$TMP/rep.console" | cut -d: -f1)"
check "the replay's pcap is the recording's, byte for byte" cmp "$TMP/rec.pcap" "$TMP/rep.pcap"
tshark -r "$TMP/rep.pcap" -T fields -e frame.time_relative -e eth.src -e eth.dst -e _ws.col.Protocol \
  -e _ws.col.Info 2>/dev/null >"$TMP/rep.packets" || fail "tshark cannot read the replay's pcap"
check "tshark shows the same packets for record and replay" diff "$TMP/rec.packets" "$TMP/rep.packets"
expect_exit 2 "exists" tt_replay --pcap "$TMP/rep.pcap" net

# --- detach: the recording goes on, without input --------------------------
python3 "$drive" "$TMP/det.tty" "expect:shell-guest: ready" "expect:$prompt" 'send:\x1d' \
  "expect:detached; 'quiet' is still recording" 'exit:0' \
  -- tt_record -c "${args[@]}" quiet || fail "detaching: $(tail -5 "$TMP/det.tty")"
check "the recording goes on after the detach" grep -q '"pid"' "$XENTT_STATE/quiet/INCOMPLETE"
timeout 120 tt_record -S quiet >"$TMP/stop.out" 2>&1 || fail "tt_record -S: $(cat "$TMP/stop.out")"
check "stopped complete" grep -q 'complete' "$TMP/stop.out"
expect_exit 2 "without a network" tt_replay --pcap "$TMP/q.pcap" quiet
check "no pcap for a recording without a network" test ! -e "$TMP/q.pcap"

check "no QEMU left behind" no_qemu_left
echo "PASS"
