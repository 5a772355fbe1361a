#!/usr/bin/env bats
# Bad input gets a clear error naming the problem, and leaves nothing.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "broken JSON names the file and the position" {
	make_bundle
	printf '{"ociVersion": "1.0.2",\n "process": {,}}' >"$BUNDLE/config.json"
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *config.json*line\ 2* ]]
	assert_no_leftovers "$ID"
}

@test "a wrong type names the JSON path and what was expected" {
	make_bundle '.process.args = ["sh", 3]'
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'.process.args[1]'*string* ]]
	assert_no_leftovers "$ID"
}

@test "a missing rootfs is named" {
	make_bundle '.root.path = "/nonexistent/rootfs"'
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent/rootfs"* ]]
	[[ "$output" == *".root.path"* ]]
	assert_no_leftovers "$ID"
}

@test "a duplicate id is refused and the first container is untouched" {
	make_bundle
	ferry create -b "$BUNDLE" "$ID"
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]
	[ "$(status_of "$ID")" = created ]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "an invalid id is refused" {
	make_bundle
	run ferry create -b "$BUNDLE" "../evil"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid container id"* ]]
	[ ! -e "$FERRY_ROOT/../evil" ]
}

@test "verbs on a missing container say it does not exist" {
	for verb in start state kill pause resume ps; do
		run ferry $verb nosuch
		[ "$status" -ne 0 ]
		[[ "$output" == *'"nosuch" does not exist'* ]]
	done
	run ferry delete nosuch
	[ "$status" -ne 0 ]
	run ferry delete -f nosuch
	[ "$status" -eq 0 ]
}

@test "start of a running container is refused" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry start "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is running, not created"* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "a program missing from the rootfs fails create and leaves nothing" {
	ARGS='["/no/such/program"]' make_bundle
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/program"* ]]
	assert_no_leftovers "$ID"
}

@test "a failing mount fails create and leaves no mount, cgroup or state" {
	make_bundle '.mounts += [{"destination": "/data", "type": "bind", "source": "/nonexistent/src", "options": ["rbind"]}]'
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent/src"* ]]
	assert_no_leftovers "$ID"
}

@test "a bad cgroup limit fails create and leaves nothing" {
	make_bundle '.linux.resources.cpu = {"cpus": "999-1000"}'
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *cpuset* ]]
	assert_no_leftovers "$ID"
}

@test "a cgroup that was there before a failed create stays as it was, children and all" {
	# cgroup2 allows no process in a cgroup that enables controllers for
	# its children: the init cannot join it, create fails, and the clean-up
	# must take back only what create made.
	local u=/sys/fs/cgroup/unified ctl had
	[ -e $u/cgroup.controllers ] || u=/sys/fs/cgroup
	[ -e $u/cgroup.controllers ] || skip "no cgroup2 hierarchy"
	mkdir -p $u/ferry/"$ID"/kept
	ctl=$(awk '{ print $1 }' $u/ferry/"$ID"/cgroup.controllers)
	if [ -z "$ctl" ]; then
		rmdir $u/ferry/"$ID"/kept $u/ferry/"$ID"
		skip "no cgroup2 controller to enable below /ferry"
	fi
	echo "+$ctl" >$u/ferry/"$ID"/cgroup.subtree_control
	make_bundle
	run ferry run -b "$BUNDLE" "$ID"
	had=no
	[ -d $u/ferry/"$ID"/kept ] && grep -qw "$ctl" $u/ferry/"$ID"/cgroup.subtree_control && had=yes
	rmdir $u/ferry/"$ID"/kept
	echo "-$ctl" >$u/ferry/"$ID"/cgroup.subtree_control
	rmdir $u/ferry/"$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"into cgroup /ferry/$ID"*"busy"* ]]
	[ $had = yes ]
	assert_no_leftovers "$ID"
}

@test "a failing createRuntime hook fails create with its output" {
	cat >"$BUNDLE/hook.sh" <<-'EOS'
	#!/bin/sh
	echo "hook says no" >&2
	exit 3
	EOS
	chmod +x "$BUNDLE/hook.sh"
	make_bundle ".hooks.createRuntime = [{\"path\": \"$BUNDLE/hook.sh\"}]"
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hook says no"* ]]
	[[ "$output" == *"exit status 3"* ]]
	assert_no_leftovers "$ID"
}

@test "unknown options and missing values name the option" {
	run ferry create --bogus x
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown option '--bogus'"* ]]
	run ferry exec --cwd
	[ "$status" -ne 0 ]
	[[ "$output" == *"'--cwd' needs a value"* ]]
	run ferry nosuchverb
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown command 'nosuchverb'"* ]]
}

@test "long options after a single dash are accepted, as runc does (go-runc: -no-subreaper)" {
	make_bundle
	"$FERRY" -root "$FERRY_ROOT" create -bundle "$BUNDLE" -pid-file "$BUNDLE/pid" "$ID"
	[ "$(cat "$BUNDLE/pid")" = "$(ferry state "$ID" | jq -r .pid)" ]
	# what follows the id is the command's own, untouched
	run ferry exec -cwd /tmp "$ID" sh -c 'pwd; echo "$0"' -no-subreaper
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /tmp ]
	[ "${lines[1]}" = -no-subreaper ]
	# short clusters and their values still parse as short options
	run ferry exec -tu 65534 "$ID" true
	[[ "$output" != *"unknown option"* ]]
	run ferry restore -no-subreaper -detach -image-path "$BUNDLE/none" -bundle "$BUNDLE" "$ID-r"
	[ "$status" -ne 0 ]
	[[ "$output" == *"image directory $BUNDLE/none"* ]]
	run ferry list -format json
	[ "$(echo "$output" | jq -r '.[0].id')" = "$ID" ]
	ferry delete -force "$ID"
	assert_no_leftovers "$ID"
}

@test "a missing exec cwd is named without blaming config.json" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry exec --cwd /no/such/dir "$ID" true
	[ "$status" -ne 0 ]
	[[ "$output" == *'chdir to cwd "/no/such/dir": No such file or directory'* ]]
	[[ "$output" != *config.json* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "every verb answers --help with exit 0" {
	for verb in spec create start run state list kill delete exec ps pause resume features check; do
		run ferry $verb --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"Usage: ferry $verb"* ]]
	done
}

@test "terminal without a console socket is refused for create" {
	make_bundle '.process.terminal = true'
	run ferry create -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--console-socket"* ]]
	assert_no_leftovers "$ID"
}
