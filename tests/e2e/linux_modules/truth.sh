# Run in the shell guest (shellguest.run=mods, after its DHCP): the
# guest's own view of its modules, for tests/e2e/vmi_linux_modules.sh.
for d in /sys/module/*/sections/.text; do
  m=${d#/sys/module/}
  echo "MOD-TEXT ${m%%/*} $(cat "$d")"
done
while read -r l; do echo "MOD-LINE $l"; done </proc/modules
grep -w -e virtnet_poll -e virtqueue_get_buf_ctx /proc/kallsyms | sed 's/^/KSYM /'
ping -c 2 10.0.2.2 >/dev/null 2>&1
echo MODS-DONE
