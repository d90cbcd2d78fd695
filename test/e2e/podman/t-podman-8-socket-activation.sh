# podman with the engine started on demand: `rdma install --systemd-units` writes the shim, the
# engine and rdma-engine.{socket,service}; Debian's systemd-socket-activate holds the socket as the
# socket unit would (no systemd as PID 1 here), restarted in a loop as systemd listens again once
# the service ends, with the service's bounding set (capsh), no_new_privs and umask. The first call
# starts the engine, later ones are served by it, it exits when idle, the next call starts it
# again, and no call fails. Every call podman makes is timed.
. ./lib.sh
. ./podman/lib.sh
T_START=$(uptime_s)
UNITS=/tmp/units
CALLS=/tmp/calls.log
SHIM_ERR=/tmp/shim.stderr
ACT_PID=/tmp/activate.pid
# longer than any gap between two calls of podman runs in a row under TCG on a busy machine (one
# run took 58 s with four test VMs on two cores; its calls came a few seconds apart)
IDLE_MS=30000
: >"$ENGINE_LOG"
: >"$CALLS"
: >"$SHIM_ERR"

section "rdma install --systemd-units: the shim, the engine and both units"
rm -rf "$UNITS"
mkdir -p "$UNITS"
rm -f "$CNI_BIN/rdma"
/mnt/build/rdma install --cni-bin-dir "$CNI_BIN" --systemd-units "$UNITS" --no-sleep 2>/tmp/install.log
check_eq "rdma install exited 0" 0 $?
check "the shim is $CNI_BIN/rdma" cmp -s /mnt/build/rdma-shim "$CNI_BIN/rdma"
check_eq "the executable is $CNI_BIN/rdma-engine" "$(stat -c %s /mnt/build/rdma)" "$(stat -c %s "$CNI_BIN/rdma-engine" 2>&1)"
check "rdma-engine.socket and rdma-engine.service written" test -s "$UNITS/rdma-engine.socket" -a -s "$UNITS/rdma-engine.service"
listen=$(sed -n 's/^ListenStream=//p' "$UNITS/rdma-engine.socket")
exec_start=$(sed -n 's/^ExecStart=//p' "$UNITS/rdma-engine.service")
keep=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNITS/rdma-engine.service" | tr 'A-Z' 'a-z')
umask_=$(sed -n 's/^UMask=//p' "$UNITS/rdma-engine.service")
check_eq "the socket unit listens where the shim connects" "$ENGINE_SOCKET" "$listen"
check_eq "the service runs the installed engine" "$CNI_BIN/rdma-engine engine --idle-exit-ms 300000" "$exec_start"
check_eq "the service keeps two capabilities" "cap_sys_admin cap_net_admin" "$keep"
# every capability of this kernel but those two leaves the bounding set, as with CapabilityBoundingSet=
CAPSH=$(command -v capsh || echo /sbin/capsh)
drop=$("$CAPSH" --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' | grep -v -x -e "${keep% *}" -e "${keep#* }" | tr '\n' ',' | sed 's/,$//')

# podman's calls to rdma, timed: the installed shim behind a wrapper that logs
# "VERB STATUS START END" (seconds of uptime) for each
mv "$CNI_BIN/rdma" "$CNI_BIN/rdma.shim"
cat >"$CNI_BIN/rdma" <<WRAP
#!/bin/sh
t0=\$(cut -d' ' -f1 /proc/uptime)
"$CNI_BIN/rdma.shim" 2>>"$SHIM_ERR"
rc=\$?
echo "\$CNI_COMMAND\${CALL:+-\$CALL} \$rc \$t0 \$(cut -d' ' -f1 /proc/uptime)" >>"$CALLS"
exit \$rc
WRAP
chmod 755 "$CNI_BIN/rdma"

# the socket unit's stand-in: systemd-socket-activate listens on ListenStream= and, at the first
# connection, execs ExecStart= (the idle time shortened for the test) with the socket as fd 3
rm -rf /run/rdma-cni
"$CAPSH" --drop="$drop" --shell=/bin/sh -- -c '
umask "$3"
while :; do
	busybox setpriv --nnp systemd-socket-activate -l "$0" $1 --idle-exit-ms "$2" --log-level debug &
	echo $! >"$4"
	wait $!
done' "$ENGINE_SOCKET" "$exec_start" "$IDLE_MS" "$umask_" "$ACT_PID" 2>>"$ENGINE_LOG" &
LOOP=$!
_i=0
while [ ! -S "$ENGINE_SOCKET" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
check "systemd-socket-activate listens on $ENGINE_SOCKET" test -S "$ENGINE_SOCKET"

act_pid() { cat "$ACT_PID" 2>/dev/null; }
# what the activation pid runs now: systemd-socket-activate (waiting) or rdma-engine (started)
running() { readlink "/proc/$(act_pid)/exe" 2>/dev/null | sed 's|.*/||'; }
engines_started() { grep -c '"msg":"engine listening".*"activated":true' "$ENGINE_LOG" || true; }
check_eq "no engine runs before the first call" systemd-socket-activate "$(running)"

section "the first call starts the engine; its DEL is served by it"
run_rm_lists rdma-vf0 simpci0
check_eq "one engine started, by activation" 1 "$(engines_started)"
check_eq "it served the ADD and the DEL" "1 1" "$(engine_served ADD) $(engine_served DEL)"
check_eq "it still runs" rdma-engine "$(running)"
pid1=$(act_pid)
check_eq "its capabilities: CAP_SYS_ADMIN and CAP_NET_ADMIN only" "0000000000201000 0000000000201000" \
	"$(sed -n 's/^CapEff:\t//p' "/proc/$pid1/status") $(sed -n 's/^CapBnd:\t//p' "/proc/$pid1/status")"
check_eq "no_new_privs set" 1 "$(sed -n 's/^NoNewPrivs:\t//p' "/proc/$pid1/status")"
check_eq "the socket tightened to 0600 in a 0700 directory" "600 700" "$(stat -c %a "$ENGINE_SOCKET") $(stat -c %a /run/rdma-cni)"

section "later calls are served by the same engine"
conf='{"cniVersion":"1.0.0","name":"v","type":"rdma"}'
before=$(engine_served VERSION)
for _n in 1 2 3 4 5; do echo "$conf" | CNI_COMMAND=VERSION CALL=direct "$CNI_BIN/rdma" >/dev/null; done
check_eq "five more VERSION calls served by it" $((before + 5)) "$(engine_served VERSION)"
check_eq "still one engine started, the same process" "1 $pid1 rdma-engine" "$(engines_started) $(act_pid) $(running)"

section "the engine exits when idle; the socket stays"
t=$(uptime_s)
_i=0
while ! grep -q '"msg":"engine stopped"' "$ENGINE_LOG" && [ $_i -lt 600 ]; do sleep 0.1; _i=$((_i + 1)); done
echo "    (it stopped $(since "$t") s after the last call; --idle-exit-ms $IDLE_MS)"
check "the engine drained for being idle" grep -q '"msg":"engine draining","component":"engine","reason":"idle"' "$ENGINE_LOG"
_i=0
while { [ "$(act_pid)" = "$pid1" ] || [ "$(running)" != systemd-socket-activate ]; } && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
check_not "the engine process is gone" test -e "/proc/$pid1/exe"
check_eq "systemd-socket-activate listens again" systemd-socket-activate "$(running)"
check "the socket is still there" test -S "$ENGINE_SOCKET"

section "the next call starts the engine again"
run_rm_lists rdma-vf1 simpci1
check_eq "a second engine started, by activation" 2 "$(engines_started)"
check_eq "it served the second ADD and DEL" "2 2" "$(engine_served ADD) $(engine_served DEL)"
check_eq "it is a new process" "rdma-engine yes" "$(running) $([ "$(act_pid)" != "$pid1" ] && echo yes)"

section "no call failed, none ran one-shot"
echo "    each call: when it started (s after the first), its verb (podman's, or direct), status, time"
awk 'NR == 1 { t = $3 } { printf "    %6.1f s  %-14s exit %s  %5.0f ms\n", $3 - t, $1, $2, ($4 - $3) * 1000 }' "$CALLS"
echo "    the engine's own time for each call it served, in order:"
sed -n 's/.*"msg":"engine: served".*"command":"\([A-Z]*\)","status":\([0-9]*\),"ms":\([0-9.]*\).*/\1 \3 ms/p' "$ENGINE_LOG" | tr '\n' ',' | sed 's/,$//; s/,/, /g; s/^/    /'
echo
check_eq "podman called ADD 2 and DEL 2 times" "2 2" "$(grep -c '^ADD ' "$CALLS") $(grep -c '^DEL ' "$CALLS")"
check_eq "every call exited 0" "" "$(awk '$2 != 0' "$CALLS")"
check_eq "every call was served by an engine" "$(wc -l <"$CALLS")" "$(grep -c '"msg":"engine: served"' "$ENGINE_LOG")"
# (a call that finds no listener runs one-shot silently; one whose engine went away says so)
check_eq "no call lost its engine mid-way" 0 "$(grep -c 'one-shot' "$SHIM_ERR" || true)"
[ -s "$SHIM_ERR" ] && sed 's/^/    shim: /' "$SHIM_ERR" | head -n 5

kill "$LOOP" 2>/dev/null
kill "$(act_pid)" 2>/dev/null
wait "$LOOP" 2>/dev/null
_i=0
while [ -e "/proc/$(act_pid)/exe" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
rm -f "$CNI_BIN/rdma.shim" "$CNI_BIN/rdma-engine" "$ENGINE_SOCKET" "$CALLS"
rm -rf "$UNITS"
use_one_shot
echo "    (this test took $(since "$T_START") s)"
