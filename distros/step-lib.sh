# shellcheck shell=sh disable=SC2154 # $out and $work come from the sourcing script
# step-lib.sh: what every patch step script shares (the step protocol,
# distros/protocol.go). Sourced, not run, after the script has set $out
# and $work (from COPA_OUT and COPA_WORK). POSIX sh, for busybox ash.
#
# A step that fails says why in its notes and ends without an error, so
# that the frontend, which reads the notes, tells the user (an exec that
# fails tells them only its exit code). Nothing of a failed step is
# exported: the frontend fails the build. The script collects its package
# manager's error lines in $work/errors for the note.

mkdir -p "$work"

on_exit() {
	rc=$?
	trap - EXIT
	if [ "$rc" -ne 0 ]; then
		if [ ! -s "$out/failed" ]; then
			msg=$(tail -n 5 "$work/errors" 2>/dev/null | tr '\n' ' ')
			echo "step $rc ${msg:-(no error message; see the step's log)}" >>"$out/failed"
		fi
		echo "copa: the step failed (exit $rc); the image is not changed" >&2
	fi
	# When: a failure of this build is not run again (distros.NoteFailedAt).
	if [ -s "$out/failed" ]; then
		date +%s >"$out/failed-at" 2>/dev/null || rm -f "$out/failed-at"
	fi
	exit 0
}
trap on_exit EXIT

# The step's start: the helper (and clamp_times) date what was modified
# after it.
started=$work/started
: >"$started"
