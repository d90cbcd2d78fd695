#!/bin/sh
# Runs e2e tests inside the test VM: run-all.sh [TEST.sh ...] (default: every
# t-*.sh but the ones that need another boot). Between tests it puts the
# machine back in a known state: pod netns deleted, every simulated device
# back in the init netns, state dir emptied. Ends with "N passed, N failed".
cd "$(dirname "$0")" || exit 1
export E2E_COUNTS=/tmp/e2e.counts
: >"$E2E_COUNTS"
. ./lib.sh

tests="$*"
[ -n "$tests" ] || tests=$(ls t-*.sh | grep -v -e '^t-shared-' -e '^t-scale-')
per_test_timeout=${E2E_TEST_TIMEOUT:-240}

# all simulated devices that exist right now (host + every netns)
all_devs() {
	{
		rdma_devs_host
		for n in $(ls /var/run/netns 2>/dev/null); do rdma_devs_ns "$n"; done
	} | sort
}

reset_state() {
	for n in $(ls /var/run/netns 2>/dev/null); do ip netns del "$n" 2>/dev/null; done
	# a dying netns hands its RDMA devices back to init_net, asynchronously
	i=0
	while [ $i -lt 100 ]; do
		[ "$(rdma_devs_host | sort)" = "$BOOT_DEVS" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	rm -rf "$STATE_DIR"
}

BOOT_DEVS=$(rdma_devs_host | sort)
echo "devices at start ($(echo "$BOOT_DEVS" | grep -c .)): $(echo $BOOT_DEVS | cut -c1-200)"
for t in $tests; do
	echo "== $t"
	before=$(grep -c . "$E2E_COUNTS")
	limit=$per_test_timeout
	# the scale boot's tests drive hundreds of devices and dozens of calls at once
	# (and the crash tests walk 21 scenarios); with four boots on two host cores each takes longer
	case "$t" in t-scale-*) limit=$((per_test_timeout * 5)) ;; t-crash.sh) limit=$((per_test_timeout * 3)) ;; esac
	started=$(cut -d' ' -f1 /proc/uptime)
	timeout "$limit" sh "./$t"
	rc=$?
	echo "  ($t: $(awk -v a="$started" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }') s)"
	after=$(grep -c . "$E2E_COUNTS")
	if [ $rc -ne 0 ]; then
		echo "fail" >>"$E2E_COUNTS"
		echo "  FAIL $t ended with exit status $rc (143: killed after ${limit}s)"
	elif [ "$after" = "$before" ]; then
		echo "fail" >>"$E2E_COUNTS"
		echo "  FAIL $t made no assertion"
	fi
	case "$t" in t-zz-*) ;; *) reset_state ;; esac
done

# the kernel must not have complained
if dmesg | grep -q -e 'WARNING:' -e 'BUG:' -e 'Oops' -e 'hung_task' -e 'unregister_netdevice: waiting'; then
	_fail "kernel log free of warnings, oopses and hangs"
	dmesg | grep -B 2 -A 20 -e 'WARNING:' -e 'BUG:' -e 'Oops' -e 'hung_task' -e 'unregister_netdevice: waiting' | head -n 60
else
	_pass "kernel log free of warnings, oopses and hangs"
fi

passed=$(grep -c '^pass$' "$E2E_COUNTS")
failed=$(grep -c '^fail$' "$E2E_COUNTS")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
