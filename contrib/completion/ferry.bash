# bash completion for ferry(8)                             -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Completes verbs, global options, each verb's options (and the values of
# some), and container ids from `ferry list -q` under the --root given on
# the command line.  Installed as share/bash-completion/completions/ferry.

_ferry_verbs="spec create start run state list kill delete exec ps update events
	pause resume features check generate checkpoint restore migrate serve"

_ferry_global_opts="--root --log --log-format --debug --criu --systemd-cgroup
	--rootless --version -v --help -h"
# Global options that take a value.
_ferry_global_valued="--root --log --log-format --criu --rootless"

# _ferry_verb_opts VERB: the verb's options.
_ferry_verb_opts()
{
	case $1 in
	spec) echo "--bundle -b --rootless" ;;
	create) echo "--bundle -b --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds" ;;
	run) echo "--detach -d --keep --bundle -b --console-socket --pid-file --no-pivot --no-new-keyring --preserve-fds" ;;
	list) echo "--format -f --quiet -q" ;;
	kill) echo "--all -a" ;;
	delete) echo "--force -f" ;;
	exec) echo "--console-socket --cwd -w --env -e --tty -t --user -u --additional-gids -g --process -p
		--detach -d --pid-file --process-label --apparmor --no-new-privs --cap -c --preserve-fds
		--ignore-paused --cgroup" ;;
	ps) echo "--format -f" ;;
	update) echo "--resources -r --memory --memory-reservation --memory-swap --cpu-shares --cpu-quota
		--cpu-period --cpuset-cpus --cpuset-mems --pids-limit --blkio-weight" ;;
	events) echo "--stats --interval" ;;
	generate) echo "--template --output" ;;
	checkpoint) echo "--image-path --work-path --parent-path --leave-running --tcp-established
		--tcp-skip-in-flight --ext-unix-sk --shell-job --file-locks --link-remap --auto-dedup
		--pre-dump --lazy-pages --page-server --manage-cgroups-mode --print-stats --empty-ns --status-fd" ;;
	restore) echo "--detach -d --bundle -b --image-path --work-path --pid-file --console-socket
		--tcp-established --tcp-close --ext-unix-sk --shell-job --file-locks --auto-dedup
		--manage-cgroups-mode --empty-ns --lazy-pages --no-subreaper --no-pivot --lsm-profile
		--lsm-mount-context --print-stats" ;;
	migrate) echo "--to --mode --shared-dir --move-ip --tcp-established --downtime-budget --preflight
		--json --ca --cert --key" ;;
	serve) echo "--listen --ca --cert --key --config" ;;
	esac
	echo "--help -h"
}

# Options of any verb that take a value (the next word is not an argument).
_ferry_valued=" -b --bundle --console-socket --pid-file --preserve-fds -f --format -w --cwd -e --env
	-u --user -g --additional-gids -p --process --process-label --apparmor -c --cap --cgroup
	-r --resources --memory --memory-reservation --memory-swap --cpu-shares --cpu-quota --cpu-period
	--cpuset-cpus --cpuset-mems --pids-limit --blkio-weight --interval --template --output
	--image-path --work-path --parent-path --page-server --manage-cgroups-mode --empty-ns --status-fd
	--lsm-profile --lsm-mount-context --to --mode --shared-dir --move-ip --downtime-budget --ca
	--cert --key --listen --config "

# Verbs whose first argument is a container id.
_ferry_takes_id=" start state kill delete exec ps update events pause resume checkpoint migrate "

_ferry_ids()
{
	local root=$1
	if [ -n "$root" ]; then
		"${_ferry_cmd:-ferry}" --root "$root" list -q 2>/dev/null
	else
		"${_ferry_cmd:-ferry}" list -q 2>/dev/null
	fi
}

_ferry()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n = || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local _ferry_cmd=${words[0]}
	local i verb="" verb_at=0 root=""

	# Find the verb: the first word after the global options.
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--root) root=${words[i + 1]}; ((i++)) ;;
		--root=*) root=${words[i]#--root=} ;;
		--log | --log-format | --criu | --rootless) ((i++)) ;;
		-*) ;;
		*) verb=${words[i]}; verb_at=$i; break ;;
		esac
	done

	if [ -z "$verb" ]; then
		case $prev in
		--root | --log | --criu)
			COMPREPLY=($(compgen -f -- "$cur"))
			return ;;
		--log-format)
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
			return ;;
		--rootless)
			COMPREPLY=($(compgen -W "true false auto" -- "$cur"))
			return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_ferry_global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_ferry_verbs" -- "$cur"))
		fi
		return
	fi

	# Values of the verb's options.
	case $prev in
	-f | --format)
		if [ "$verb" != delete ]; then
			COMPREPLY=($(compgen -W "table json" -- "$cur"))
			return
		fi ;;
	--mode)
		COMPREPLY=($(compgen -W "auto lazy stop-copy shared pre-copy" -- "$cur"))
		return ;;
	--manage-cgroups-mode)
		COMPREPLY=($(compgen -W "soft full strict ignore" -- "$cur"))
		return ;;
	-b | --bundle | --image-path | --work-path | --parent-path | --shared-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	-r | --resources | --pid-file | --console-socket | -p | --process | --template | --output | \
		--ca | --cert | --key | --config)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	esac
	if [[ $_ferry_valued == *" $prev "* && ! ($verb == delete && $prev == -f) ]]; then
		return
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ferry_verb_opts "$verb")" -- "$cur"))
		return
	fi

	# Positional arguments: count those before the cursor.
	local nargs=0
	for ((i = verb_at + 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			if [[ $_ferry_valued == *" ${words[i - 1]} "* && ! ($verb == delete && ${words[i - 1]} == -f) ]]; then
				continue
			fi
			((nargs++)) ;;
		esac
	done
	if [[ $_ferry_takes_id == *" $verb "* && $nargs -eq 0 ]] || [ "$verb" = delete ]; then
		COMPREPLY=($(compgen -W "$(_ferry_ids "$root")" -- "$cur"))
	elif [ "$verb" = kill ] && [ $nargs -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(compgen -A signal | sed 's/^SIG//')" -- "$cur"))
	fi
}

complete -F _ferry ferry
