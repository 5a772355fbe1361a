#!/usr/bin/env bats
# The fault matrix of live migration: every fault at every point it applies
# to, in stop-copy and lazy mode.  A fault is injected (FERRY_FAULT=POINT
# makes that step fail), or a process is killed while it stands still at a
# point (FERRY_FAULT=POINT:stall makes it print "stalled at POINT (pid N)"
# and wait; SIGUSR1 lets it go on), or the link is cut there, or the
# destination's disk is full.  Every trial must end with the container
# running on exactly one host (the one the trial expects), its counter
# continued, its established TCP connection answered where the design keeps
# it, and nothing left behind: state, bundles, cgroups, mounts, images, CRIU
# processes and rules, the guardian, the service IP on the wrong host.
#
# `make check-faults` runs this file alone.

load helpers

setup_file() {
	suite_setup
	: >"$WORK/tally"
	probe_criu
}

# probe_criu: $WORK/probe/criu, a CRIU whose page server and lazy-pages
# daemon have a child of their own, as a real CRIU has while it probes the
# kernel; a kill of CRIU alone would leave it behind.  (Its comm is "criu"
# and its arguments name the session, as the probe's would.)
probe_criu() {
	mkdir -p "$WORK/probe"
	cat >"$WORK/probe/criu" <<-EOF
		#!/bin/sh
		case "\$1" in
		page-server | lazy-pages) "\$0" --probe "\$@" 3>&- 4>&- </dev/null >/dev/null & ;;
		--probe) while :; do sleep 1; done ;;
		esac
		exec ${FERRY_CRIU:-/opt/ferry/criu/usr/sbin/criu} "\$@"
	EOF
	chmod +x "$WORK/probe/criu"
}

teardown_file() {
	local n ok
	n=$(wc -l <"$WORK/tally")
	ok=$(grep -c ' ok$' "$WORK/tally" || true)
	echo "# fault matrix: $n trials, $ok ok" >&3
	suite_teardown
}

# serve_b [VAR=VALUE...] [-- SERVE-ARGS...]: the agent on b, afresh.
serve_b() {
	serve_stop b
	serve_start b "$@"
}

# mig_bg ID MODE [VAR=VALUE...]: ferry migrate on a in the background,
# its output in $WORK/m.out, the pid of its `testbed exec` in MPID.
mig_bg() {
	local id=$1 mode=$2
	shift 2
	on a env "$@" "$FERRY" migrate "$id" --to 10.77.0.12 --ca "$CERTS/ca.pem" --cert "$CERTS/a.pem" \
		--key "$CERTS/a-key.pem" --move-ip "$SIP/24" --no-progress --timeout 5000 --mode "$mode" \
		>"$WORK/m.out" 2>&1 &
	MPID=$!
}

# child_of PID PATTERN: the pid of PID's child whose command line matches
# (the guardian, ferry-guard, is never meant).
child_of() {
	local i c
	for ((i = 0; i < 100; i++)); do
		for c in $(pgrep -P "$1"); do
			[[ $(cat "/proc/$c/comm" 2>/dev/null) != ferry-guard ]] || continue
			# by its arguments (CRIU), or by its name (ferry-lazy)
			{ tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q -- "$2" ||
				[[ $(cat "/proc/$c/comm" 2>/dev/null) == "$2" ]]; } && { echo "$c"; return 0; }
		done
		sleep 0.05
	done
	echo "no child of $1 matching $2: $(ps -o pid,comm,args --ppid "$1")" >&2
	return 1
}

# The migration and whatever it left to the guardian are over.
mig_wait() {
	local i
	wait "$MPID" || true
	for ((i = 0; i < 400; i++)); do
		pgrep -x ferry-guard >/dev/null || return 0
		sleep 0.1
	done
	echo "the guardian is still there" >&2
	return 1
}

# Every CRIU process of the simulated hosts is gone (the b side cleans up
# after the session noticed).
no_criu_left() {
	local i p left
	for ((i = 0; i < 100; i++)); do
		left=
		for p in $(pgrep -x criu); do
			case $(ip netns identify "$p" 2>/dev/null) in
			ferry-tb-a | ferry-tb-b) left+=" $p" ;;
			esac
		done
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	echo "criu processes left:$left" >&2
	for p in $left; do
		echo "  $(ip netns identify "$p" 2>/dev/null): $(ps -o pid=,ppid=,stat=,etime=,args= -p "$p")" >&2
		echo "  parent: $(ps -o pid=,stat=,args= -p "$(ps -o ppid= -p "$p")")" >&2
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -o '/run/ferry-serve/[0-9a-f]*' | while read -r d; do
			on b sh -c "tail -n 15 $d/work/page-server.log" >&2
		done
	done
	ps -eo pid,ppid,stat,etime,args | grep -E 'ferry|criu' | grep -v grep >&2
	return 1
}

# settle HOST ID: waits until ID runs on HOST only (the other side may
# still be rolling back), at most 20 s.
settle() {
	local h=$1 id=$2 o i
	o=$(other "$h")
	for ((i = 0; i < 200; i++)); do
		[[ $(status_on "$h" "$id") == running && $(status_on "$o" "$id") == none ]] &&
			! on "$o" test -e "/run/ferry/$id" && return 0
		sleep 0.1
	done
}

# check HOST ID C1 TCP: the end state of a trial.
check() {
	local h=$1 id=$2 c1=$3 tcp=$4 o c2 i
	o=$(other "$h")
	assert_only_on "$h" "$id" || return 1
	assert_ip_on "$h" || return 1
	[[ $(answer) == "$h" ]] || { echo "port 80 answers \"$(answer)\", not $h" >&2; return 1; }
	# (the workload rewrites the file: a read may find it empty)
	for ((i = 0; i < 5; i++)); do
		c2=$(answer 81 count)
		[[ $c2 =~ ^[0-9]+$ ]] && break
	done
	[[ $c2 =~ ^[0-9]+$ ]] && ((c2 >= c1)) || { echo "counter $c1 -> \"$c2\"" >&2; return 1; }
	if [[ $tcp == tcp ]]; then
		tcp_client_check || return 1
	fi
	no_criu_left || return 1
	assert_clean || return 1
	# nothing of it on the other host: cgroup, bundle, mounts
	if [[ $o == b ]]; then
		for ((i = 0; i < 50; i++)); do
			[[ -n $(cgroups_of b "$id") ]] || on b test -e "/run/ferry-bundles/$id" || break
			sleep 0.1
		done
		[[ -z $(cgroups_of b "$id") ]] || { echo "cgroup of $id left on b: $(cgroups_of b "$id")" >&2; return 1; }
		! on b test -e "/run/ferry-bundles/$id" || { echo "bundle of $id left on b" >&2; return 1; }
	fi
	! on "$o" grep -q "/$id[/ ]" /proc/self/mountinfo || { echo "mounts of $id left on $o" >&2; return 1; }
	# not paused anywhere, no guardian
	[[ $(fy "$h" state "$id" | jq -r .status) == running ]] || return 1
	! pgrep -x ferry-guard >/dev/null || { echo "a guardian outlived the migration" >&2; return 1; }
}

# trial MODE KIND POINT HOST TCP: one fault, HOST where the container must
# end up, TCP "tcp" when its established connection must survive.
#   inject     FERRY_FAULT=POINT in ferry migrate (src-*) or ferry serve (dst-*)
#   kill|term|int|hup  ferry migrate stalled at POINT gets SIGKILL/TERM/INT/HUP
#   kill-dst   b's session stalled at POINT gets SIGKILL
#   kill-src-late  ferry migrate gets SIGKILL while b's session stalls at POINT
#   kill-criu  a's CRIU dump, while ferry migrate stands still at POINT
#   kill-ps    b's CRIU page server / ferry's lazy-pages daemon, the same way
#   cut        the link cut while ferry migrate stands still at POINT
#   full-bundle, full-work  b's --bundle-root / --work-root a full tmpfs
#   inject-probe, kill-dst-probe  inject, kill-dst with b's CRIU leaving a
#              child behind (probe_criu)
trial() {
	local mode=$1 kind=$2 point=$3 h=$4 tcp=$5 id c1= pid= cp r=0 bundle=$WORK/web name=$2 benv=()
	SEQ=$((SEQ + 1))
	id=f$SEQ
	: >"$WORK/m.out"
	: >"$WORK/why"
	if [[ $kind == *-probe ]]; then
		# b's CRIU leaves a child behind when killed (probe_criu)
		benv=(FERRY_CRIU="$WORK/probe/criu")
		kind=${kind%-probe}
	fi
	if [[ $kind == full-bundle ]]; then
		# a writable rootfs: sent, into b's bundle root
		on a sh -c "rm -rf /run/fbundle && mkdir -p /run/fbundle && cp -a $WORK/web/. /run/fbundle/ &&
			head -c 3M /dev/urandom >/run/fbundle/rootfs/filler"
		on a sh -c "jq '.root.readonly = false' /run/fbundle/config.json >/run/fbundle/c && mv /run/fbundle/c /run/fbundle/config.json"
		bundle=/run/fbundle
	fi
	run_on_a "$id" "$bundle" || { echo "$id did not start on a" >&2; r=1; }
	c1=$(answer 81 count)
	if [[ $r -eq 0 && $tcp == tcp ]]; then
		tcp_client_start || r=1
	fi
	if [[ $r -eq 0 ]]; then
		fault 2>>"$WORK/why" || r=1
	fi
	if [[ $r -ne 0 && -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == ferry ]]; then
		# a process the trial did not get to still stands still: end it
		echo "ending $pid, still stalled" >&2
		kill -KILL "$pid"
		r=1
	fi
	mig_wait || r=1
	cat "$WORK/m.out"
	settle "$h" "$id"
	check "$h" "$id" "$c1" "$tcp" 2>>"$WORK/why" || r=1
	cat "$WORK/why" >&2
	finish
}

# The fault of a trial (trial's locals are visible here).
fault() {
	case $kind in
	inject)
		if [[ $point == dst-* ]]; then
			serve_b FERRY_FAULT="$point" "${benv[@]}" || return 1
			mig_bg "$id" "$mode"
		else
			mig_bg "$id" "$mode" FERRY_FAULT="$point"
		fi
		mig_wait || return 1
		grep -q "fault injected at $point" "$WORK/m.out" || { echo "no fault at $point" >&2; return 1; }
		;;
	kill | term | int | hup)
		mig_bg "$id" "$mode" FERRY_FAULT="$point:stall"
		pid=$(stalled "$WORK/m.out" "$point") || return 1
		kill -"${kind^^}" "$pid"
		;;
	kill-dst)
		serve_b FERRY_FAULT="$point:stall" "${benv[@]}" || return 1
		mig_bg "$id" "$mode"
		pid=$(stalled "$WORK/serve-b.log" "$point") || return 1
		kill -KILL "$pid"
		;;
	kill-criu)
		mig_bg "$id" "$mode" FERRY_FAULT="$point:stall"
		pid=$(stalled "$WORK/m.out" "$point") || return 1
		cp=$(child_of "$pid" "criu") || return 1
		kill -KILL "$cp"
		kill -USR1 "$pid"
		;;
	kill-ps)
		if [[ $mode == lazy ]]; then
			# lazy: the daemon (ferry's own, a child named
			# ferry-lazy) exists from the RESTORE on
			serve_b FERRY_FAULT="$point:stall" || return 1
			mig_bg "$id" "$mode"
			pid=$(stalled "$WORK/serve-b.log" "$point") || return 1
			cp=$(child_of "$pid" "ferry-lazy") || return 1
		else
			# stop-copy: the page server is there before the dump
			serve_b FERRY_FAULT="$point:stall" || return 1
			mig_bg "$id" "$mode"
			pid=$(stalled "$WORK/serve-b.log" "$point") || return 1
			cp=$(child_of "$pid" "page-server") || return 1
		fi
		kill -KILL "$cp"
		kill -USR1 "$pid"
		;;
	kill-src-late)
		# lazy, post-copy: b's session waits for the last page while
		# ferry migrate (the guardian's parent) is killed
		serve_b FERRY_FAULT="$point:stall" || return 1
		mig_bg "$id" "$mode"
		pid=$(stalled "$WORK/serve-b.log" "$point") || return 1
		cp=$(ps -o ppid= -p "$(pgrep -x ferry-guard)" | tr -d ' ')
		[[ -n $cp ]] || { echo "no guardian" >&2; return 1; }
		kill -KILL "$cp"
		kill -USR1 "$pid"
		;;
	cut)
		mig_bg "$id" "$mode" FERRY_FAULT="$point:stall"
		pid=$(stalled "$WORK/m.out" "$point") || return 1
		# both ways: neither side hears anything from the other
		on b iptables -I INPUT -s 10.77.0.11 -j DROP
		on b iptables -I OUTPUT -d 10.77.0.11 -j DROP
		kill -USR1 "$pid"
		mig_wait
		on b iptables -D INPUT -s 10.77.0.11 -j DROP
		on b iptables -D OUTPUT -d 10.77.0.11 -j DROP
		;;
	full-bundle | full-work)
		on b sh -c "mkdir -p /run/tiny && mount -t tmpfs -o size=${point} tiny /run/tiny"
		# given twice, the last one counts
		if [[ $kind == full-bundle ]]; then
			serve_b -- --bundle-root /run/tiny || return 1
		else
			serve_b -- --work-root /run/tiny || return 1
		fi
		mig_bg "$id" "$mode"
		;;
	esac
}

# The end of a trial: back to the usual agent on b, nothing of it left,
# and the tally.
finish() {
	if [[ $r -ne 0 ]]; then
		echo "--- serve-b.log" >&2
		tail -n 30 "$WORK/serve-b.log" >&2
		echo "--- the end of a's dump.log" >&2
		on a sh -c "tail -n 25 /run/ferry-migrate/$id-*/work/dump.log" >&2
		# what this trial left must not fail the next ones too
		local p
		for p in $(pgrep -x criu); do
			case $(ip netns identify "$p" 2>/dev/null) in
			ferry-tb-a | ferry-tb-b) kill -KILL "$p" ;;
			esac
		done
	fi
	if [[ $tcp == tcp && -n ${TCP_PID:-} ]] && kill -0 "$TCP_PID" 2>/dev/null; then
		# a check that did not get to the TCP client: let it end, or
		# it answers the next trial's
		touch "$WORK/go"
		wait "$TCP_PID"
	fi
	TCP_PID=
	case $kind in
	inject | kill-dst | kill-ps | kill-src-late)
		if [[ $point == dst-* ]] && ! serve_b; then
			echo "the usual agent on b did not start again" >&2
			r=1
		fi
		;;
	full-*)
		if on b sh -c "ls -d /run/tiny/$id /run/tiny/*/images /run/tiny/*/pages.sock 2>/dev/null" | grep -q .; then
			echo "left in the full tmpfs: $(on b ls -R /run/tiny)" >&2
			r=1
		fi
		serve_b || { echo "the usual agent on b did not start again" >&2; r=1; }
		on b sh -c "umount /run/tiny; rmdir /run/tiny"
		;;
	esac
	fy "$h" delete -f "$id" >/dev/null 2>&1
	fy "$(other "$h")" delete -f "$id" >/dev/null 2>&1
	on "$h" ip addr del "$SIP/24" dev eth0 2>/dev/null
	on "$(other "$h")" ip addr del "$SIP/24" dev eth0 2>/dev/null
	on a rm -rf /run/fbundle
	on b rm -rf "/run/ferry-bundles/$id"
	if [[ $r -eq 0 ]]; then
		echo "$mode $name $point -> $h: ok" >>"$WORK/tally"
		echo "# $mode $name $point -> $h: ok" >&3
	else
		# the first reason on the line: the TAP summary may be all
		# that is seen of a run
		echo "$mode $name $point -> $h: FAILED" >>"$WORK/tally"
		echo "# $mode $name $point -> $h: FAILED: $(grep -m1 . "$WORK/why" | cut -c1-200)" >&3
	fi
	return $r
}

# trials LINE...: each "MODE KIND POINT HOST TCP"; all run, the test fails
# if any did.
trials() {
	local t failed=0
	for t in "$@"; do
		# FAULT_ONLY=REGEX: only the matching trials (for looking into one)
		[[ -n ${FAULT_ONLY:-} && ! $t =~ $FAULT_ONLY ]] && continue
		# shellcheck disable=SC2086
		trial $t || failed=$((failed + 1))
	done
	[[ $failed -eq 0 ]]
}

@test "injected failures in every phase roll back: the container runs on at the source" {
	# stop-copy commits after RESTORED; lazy hands off at the restore.
	# Lazy: once RESTORE went out the destination restores at once, and
	# its copy, stopped half-way by CRIU itself, may end the established
	# connections (docs/migration.md): "-" from there on.
	trials \
		"stop-copy inject src-preflight a tcp" "lazy inject src-preflight a tcp" \
		"stop-copy inject src-presync a tcp" "lazy inject src-presync a tcp" \
		"stop-copy inject dst-preflight a tcp" "lazy inject dst-preflight a tcp" \
		"stop-copy inject dst-dump a tcp" "lazy inject dst-dump a tcp" \
		"stop-copy inject dst-hold a tcp" "lazy inject dst-hold a tcp" \
		"stop-copy inject src-hold a tcp" "lazy inject src-hold a tcp" \
		"stop-copy inject src-dump a tcp" "lazy inject src-dump a tcp" \
		"stop-copy inject src-images a tcp" "lazy inject src-images a tcp" \
		"stop-copy inject dst-restore a tcp" "lazy inject dst-restore a -" \
		"stop-copy inject src-restore a tcp" \
		"stop-copy inject src-commit a tcp" "lazy inject src-commit a -" \
		"stop-copy inject dst-commit a tcp"
}

@test "ferry migrate killed (SIGKILL) or stopped (TERM, INT, HUP) in every phase: the guardian or the rollback" {
	# Before COMMIT the container stays; after it (stop-copy) it is the
	# destination's.  A lazy source killed after the hand-off takes the
	# page transfer with it: the destination drops its copy.
	trials \
		"stop-copy kill src-presync a tcp" "lazy kill src-presync a tcp" \
		"stop-copy kill src-hold a tcp" "lazy term src-hold a tcp" \
		"stop-copy kill src-dump a tcp" "lazy kill src-dump a tcp" \
		"stop-copy kill src-images a tcp" "lazy kill src-images a tcp" \
		"stop-copy kill src-restore a tcp" \
		"stop-copy kill src-commit-sent b tcp" "lazy kill src-commit-sent a -" \
		"lazy kill-src-late dst-postcopy a -" \
		"stop-copy term src-presync a tcp" "lazy term src-presync a tcp" \
		"stop-copy term src-dump a tcp" "lazy term src-dump a tcp" \
		"stop-copy term src-images a tcp" "lazy term src-images a tcp" \
		"stop-copy term src-restore a tcp" \
		"stop-copy term src-commit-sent b tcp" "lazy term src-commit-sent b tcp" \
		"stop-copy int src-images a tcp" "lazy hup src-dump a tcp"
}

@test "the destination's session killed in every phase before the commit: the source keeps it" {
	# (after COMMIT in stop-copy the source cannot know: docs/migration.md;
	# lazy: until the last page the source can resume, so the copy goes)
	trials \
		"stop-copy kill-dst dst-preflight a tcp" "lazy kill-dst dst-preflight a tcp" \
		"stop-copy kill-dst dst-dump a tcp" "lazy kill-dst dst-dump a tcp" \
		"stop-copy kill-dst dst-hold a tcp" "lazy kill-dst dst-hold a tcp" \
		"stop-copy kill-dst dst-restore a tcp" "lazy kill-dst dst-restore a -" \
		"stop-copy kill-dst dst-restored a tcp" "lazy kill-dst dst-commit a -" \
		"lazy kill-dst dst-postcopy a -"
}

@test "b's CRIU killed with a child of its own (as while it probes the kernel): nothing of it is left" {
	# the session's rollback kills the page server's process group; a
	# killed session's CRIU dies with it, and the recovery kills what
	# that CRIU forked
	trials \
		"stop-copy inject-probe dst-dump a tcp" "lazy inject-probe dst-restore a -" \
		"stop-copy kill-dst-probe dst-dump a tcp" "lazy kill-dst-probe dst-restore a -"
}

@test "CRIU killed on either side" {
	# a's CRIU dies while waiting for the commit decision: stop-copy
	# commits all the same (the images are complete), lazy cannot serve
	trials \
		"stop-copy kill-criu src-dump b tcp" "lazy kill-criu src-dump a -" \
		"stop-copy kill-ps dst-dump a tcp" "lazy kill-ps dst-restore a -"
}

@test "the link cut in the middle: both sides give up, the source keeps it" {
	trials \
		"stop-copy cut src-presync a tcp" \
		"stop-copy cut src-dump a tcp" "lazy cut src-dump a tcp" \
		"stop-copy cut src-images a tcp" "lazy cut src-images a -"
}

@test "the destination's disk full: the source keeps it" {
	trials \
		"stop-copy full-bundle 1m a tcp" "lazy full-bundle 1m a tcp" \
		"stop-copy full-work 64k a tcp" "lazy full-work 64k a tcp"
}
