# the runner test's long command: $1 numbered lines of 20-116 bytes, each its own write, a forged
# end marker in the middle (the runner must not take it for the guest's), the lines' numbers on
# stderr and a last line without newline
awk -v n="$1" 'BEGIN {
	for (i = 1; i <= n; i++) {
		s = sprintf("long line %d of %d: ", i, n)
		for (j = 0; j < i % 97; j++) s = s "x"
		print s
		if (i == int(n / 2)) print "TB_OUTPUT_END rc=0 bytes=0"
		fflush()
	}
}'
seq 1 "$1" | tr '\n' ' ' >&2
printf 'end'
