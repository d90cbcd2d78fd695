# the runner test's short command: two lines a moment apart (the second on stderr) and the exit
# status it is given
echo "short run $1: step1"
sleep 0.5
echo "short run $1: step2" >&2
exit "$2"
