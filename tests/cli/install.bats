#!/usr/bin/env bats
# make install / meson install: every file lands under DESTDIR and is usable
# (man pages render cleanly, the completion completes, the unit verifies).
# Needs no root and runs no container.

FERRY=${FERRY:-$BATS_TEST_DIRNAME/../../build/ferry}
BUILD_DIR=${BUILD_DIR:-$(dirname "$FERRY")}
PREFIX=/usr/local

setup_file() {
	DEST=$(mktemp -d /tmp/ferry-install.XXXXXX)
	export DEST
	# The build's configured prefix is the default one unless a packager
	# changed it; read it rather than assume.
	PREFIX=$(meson introspect "$BUILD_DIR" --buildoptions | jq -r '.[] | select(.name == "prefix") | .value')
	export PREFIX
	meson install -C "$BUILD_DIR" --destdir "$DEST" --no-rebuild >"$DEST.log" 2>&1 || {
		cat "$DEST.log" >&2
		return 1
	}
}

teardown_file() {
	rm -rf "$DEST" "$DEST.log"
}

# The verbs `ferry --help` lists, plus the agent's two.
verbs() {
	"$FERRY" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'
	echo migrate
	echo serve
}

@test "install puts the binary, a man page per verb, the completion and the unit under DESTDIR" {
	local missing=0 v
	[ -x "$DEST$PREFIX/sbin/ferry" ]
	"$DEST$PREFIX/sbin/ferry" --version
	[ -f "$DEST$PREFIX/share/man/man8/ferry.8" ]
	[ "$(verbs | wc -l)" -ge 20 ]
	for v in $(verbs); do
		if [ ! -f "$DEST$PREFIX/share/man/man8/ferry-$v.8" ]; then
			echo "no man page for $v" >&2
			missing=1
		fi
	done
	[ $missing -eq 0 ]
	[ -f "$DEST$PREFIX/share/bash-completion/completions/ferry" ]
	[ -f "$DEST$PREFIX/lib/systemd/system/ferry-serve.service" ]
	# nothing outside the prefix (DESTDIR honoured throughout)
	[ -z "$(find "$DEST" ! -type d ! -path "$DEST$PREFIX/*")" ]
}

@test "every man page renders without warnings" {
	local f out
	for f in "$DEST$PREFIX"/share/man/man8/*.8; do
		out=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
		if [ -n "$out" ]; then
			echo "$f: $out" >&2
			return 1
		fi
		out=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
		if [ -n "$out" ]; then
			echo "$f: $out" >&2
			return 1
		fi
		# the sections the pages promise
		for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" "SEE ALSO"; do
			grep -q "^\.SH $s" "$f" || { echo "$f: no $s section" >&2; return 1; }
		done
	done
	MANWIDTH=80 man -l "$DEST$PREFIX/share/man/man8/ferry-update.8" | grep -q -- --memory-swap
}

# complete WORDS...: runs the completion function as bash would for the
# command line WORDS (the last word is the one being completed).
complete_words() {
	bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_ferry
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$DEST$PREFIX/share/bash-completion/completions/ferry" "$@"
}

@test "the bash completion parses and completes verbs, options and container ids" {
	bash -n "$DEST$PREFIX/share/bash-completion/completions/ferry"
	run complete_words ferry ki
	[ "$status" -eq 0 ]
	[ "$output" = kill ]
	run complete_words ferry --ro
	[[ "$output" == *--root* ]]
	run complete_words ferry update --pids
	[ "$output" = --pids-limit ]
	run complete_words ferry events --st
	[ "$output" = --stats ]
	run complete_words ferry migrate web1 --mode pre
	[ "$output" = pre-copy ]
	# container ids come from `ferry [--root R] list -q`
	cat >"$BATS_TEST_TMPDIR/fake-ferry" <<'EOF'
#!/bin/sh
[ "$1 $2 $3 $4" = "--root /r list -q" ] && printf 'web1\nweb2\ndb1\n'
EOF
	chmod +x "$BATS_TEST_TMPDIR/fake-ferry"
	run complete_words "$BATS_TEST_TMPDIR/fake-ferry" --root /r update --memory 1g we
	[ "${lines[*]}" = "web1 web2" ]
	run complete_words "$BATS_TEST_TMPDIR/fake-ferry" --root /r kill db1 TE
	[ "$output" = TERM ]
}

@test "ferry-serve.service runs ferry serve from sbindir and verifies" {
	local unit="$DEST$PREFIX/lib/systemd/system/ferry-serve.service"
	grep -qx "ExecStart=$PREFIX/sbin/ferry serve --config /etc/ferry/serve.conf" "$unit"
	grep -qx "Restart=on-failure" "$unit"
	# nothing that would confine the containers the agent restores
	! grep -Eq "^(ProtectSystem|SystemCallFilter|NoNewPrivileges|CapabilityBoundingSet|PrivateTmp|RestrictNamespaces)=" "$unit"
	if ! command -v systemd-analyze >/dev/null; then
		skip "no systemd-analyze"
	fi
	# verify it as installed, with its binary and man page where DESTDIR put them
	sed "s#=$PREFIX/sbin/ferry#=$DEST$PREFIX/sbin/ferry#" "$unit" >"$BATS_TEST_TMPDIR/ferry-serve.service"
	MANPATH="$DEST$PREFIX/share/man" run timeout 30 systemd-analyze verify "$BATS_TEST_TMPDIR/ferry-serve.service"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "make install passes PREFIX and DESTDIR on to meson" {
	run make -C "$BATS_TEST_DIRNAME/../.." -n install PREFIX=/opt/ferry-test DESTDIR=/tmp/stage BUILD="$BUILD_DIR"
	[ "$status" -eq 0 ]
	[[ "$output" == *"-Dprefix=/opt/ferry-test"* ]]
	[[ "$output" == *"DESTDIR=/tmp/stage meson install"* ]]
}
