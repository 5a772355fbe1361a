// rtgen: what oci-runtime-tool generate writes for a set of flags, computed
// with runtime-tools' own generate library (Debian's
// golang-github-opencontainers-runtime-tools-dev), for
// tests/conformance/run to diff against `ferry generate`.
//
// Debian packages the library but not the oci-runtime-tool command, so this
// applies each flag the way the command does, in the command's order: the
// current command for the flags it still has, and the 2016-2017 command for
// the ones the seed article uses and that it dropped since (--network and
// the other namespace shortcuts, --tmpfs, --bind, --read-only, --cap-add,
// --cap-drop). Only the flags the conformance cases use are here.
//
// Built offline: GOPATH=/usr/share/gocode GO111MODULE=off go build.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"
)

// A repeatable flag; aliases share one.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

// A flag whose presence matters, even with an empty value (--network "").
type optString struct {
	set   bool
	value string
}

func (o *optString) String() string     { return o.value }
func (o *optString) Set(s string) error { o.set, o.value = true, s; return nil }

// A boolean flag that remembers whether it was given (urfave's IsSet).
type optBool struct{ set, value bool }

func (o *optBool) String() string   { return strconv.FormatBool(o.value) }
func (o *optBool) IsBoolFlag() bool { return true }
func (o *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	o.set, o.value = true, v
	return err
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "rtgen: "+format+"\n", a...)
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		die("%v", err)
	}
}

// runtime-tools requires the CAP_ prefix and upper-cases the rest; ferry
// also accepts it without the prefix. The cases pass both spellings, so the
// harness adds the prefix the way ferry does before calling the library.
func capName(s string) string {
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "CAP_") {
		s = "CAP_" + s
	}
	return s
}

func kv(s, what string) (string, string) {
	parts := strings.SplitN(s, "=", 2)
	if len(parts) != 2 || parts[0] == "" {
		die("bad %s %q", what, s)
	}
	return parts[0], parts[1]
}

func u32(s string) uint32 {
	v, err := strconv.ParseUint(s, 10, 32)
	check(err)
	return uint32(v)
}

func main() {
	var (
		template, hostname, rootfsPath, cwd, uid, gid           optString
		cgroupsPath, propagation, mountCgroups                  optString
		pidsLimit, memLimit, cpuShares                          optString
		readonly, terminal, privileged, capDropAll, nsRemoveAll optBool
		args, env, labels, capAdd, capDrop, tmpfs, binds        list
		mountsAdd, prestart, poststart, poststop, sysctls       list
		masked, readonlyPaths, nsAdd, nsRemove, rlimits         list
		uidMaps, gidMaps                                        list
	)
	nsFlags := map[string]*optString{}
	for _, ns := range generate.Namespaces {
		nsFlags[ns] = &optString{}
		flag.Var(nsFlags[ns], ns, "")
	}
	flag.Var(&template, "template", "")
	flag.Var(&hostname, "hostname", "")
	flag.Var(&rootfsPath, "rootfs-path", "")
	flag.Var(&cwd, "cwd", "")
	flag.Var(&cwd, "process-cwd", "")
	flag.Var(&uid, "uid", "")
	flag.Var(&uid, "process-uid", "")
	flag.Var(&gid, "gid", "")
	flag.Var(&gid, "process-gid", "")
	flag.Var(&cgroupsPath, "linux-cgroups-path", "")
	flag.Var(&propagation, "linux-rootfs-propagation", "")
	flag.Var(&mountCgroups, "mount-cgroups", "")
	flag.Var(&pidsLimit, "linux-pids-limit", "")
	flag.Var(&memLimit, "linux-mem-limit", "")
	flag.Var(&cpuShares, "linux-cpu-shares", "")
	flag.Var(&readonly, "read-only", "")
	flag.Var(&readonly, "rootfs-readonly", "")
	flag.Var(&terminal, "process-terminal", "")
	flag.Var(&privileged, "privileged", "")
	flag.Var(&capDropAll, "process-cap-drop-all", "")
	flag.Var(&nsRemoveAll, "linux-namespace-remove-all", "")
	flag.Var(&args, "args", "")
	flag.Var(&env, "env", "")
	flag.Var(&labels, "label", "")
	flag.Var(&capAdd, "cap-add", "")
	flag.Var(&capDrop, "cap-drop", "")
	flag.Var(&tmpfs, "tmpfs", "")
	flag.Var(&binds, "bind", "")
	flag.Var(&mountsAdd, "mounts-add", "")
	flag.Var(&prestart, "hooks-prestart-add", "")
	flag.Var(&poststart, "hooks-poststart-add", "")
	flag.Var(&poststop, "hooks-poststop-add", "")
	flag.Var(&sysctls, "linux-sysctl", "")
	flag.Var(&masked, "linux-masked-paths", "")
	flag.Var(&readonlyPaths, "linux-readonly-paths", "")
	flag.Var(&nsAdd, "linux-namespace-add", "")
	flag.Var(&nsRemove, "linux-namespace-remove", "")
	flag.Var(&rlimits, "process-rlimits-add", "")
	flag.Var(&uidMaps, "linux-uidmappings", "")
	flag.Var(&gidMaps, "linux-gidmappings", "")
	flag.Parse()
	if flag.NArg() > 0 {
		die("unexpected argument %q", flag.Arg(0))
	}

	g, err := generate.New("linux")
	check(err)
	if template.set {
		g, err = generate.NewFromFile(template.value)
		check(err)
	}

	// setupSpec(), in its order.
	if len(g.Config.Version) == 0 {
		g.SetVersion(rspec.Version)
	}
	if hostname.set {
		g.SetHostname(hostname.value)
	}
	for _, l := range labels {
		k, v := kv(l, "label")
		g.AddAnnotation(k, v)
	}
	// The command always calls SetRootPath (default "rootfs") and
	// SetProcessCwd (default "/"); with the default spec that changes
	// nothing, and ferry keeps a template's values, so only when given.
	if rootfsPath.set {
		g.SetRootPath(rootfsPath.value)
	}
	if readonly.set {
		g.SetRootReadonly(readonly.value)
	}
	if uid.set {
		g.SetProcessUID(u32(uid.value))
	}
	if gid.set {
		g.SetProcessGID(u32(gid.value))
	}
	if cwd.set {
		g.SetProcessCwd(cwd.value)
	}
	if terminal.set {
		g.SetProcessTerminal(terminal.value)
	}
	if len(args) > 0 {
		g.SetProcessArgs(args)
	}
	for _, e := range env {
		k, v := kv(e, "env")
		g.AddProcessEnv(k, v)
	}
	if cgroupsPath.set {
		g.SetLinuxCgroupsPath(cgroupsPath.value)
	}
	for _, p := range masked {
		g.AddLinuxMaskedPaths(p)
	}
	for _, p := range readonlyPaths {
		g.AddLinuxReadonlyPaths(p)
	}
	for _, s := range sysctls {
		k, v := kv(s, "sysctl")
		g.AddLinuxSysctl(k, v)
	}
	g.SetupPrivileged(privileged.value)
	if capDropAll.value {
		g.ClearProcessCapabilities()
	}
	for _, c := range capAdd {
		check(g.AddProcessCapability(capName(c)))
	}
	for _, c := range capDrop {
		check(g.DropProcessCapability(capName(c)))
	}
	if len(uidMaps) > 0 || len(gidMaps) > 0 {
		check(g.AddOrReplaceLinuxNamespace("user", ""))
	}
	// The 2016 command's setupLinuxNamespaces().
	for _, ns := range generate.Namespaces {
		f := nsFlags[ns]
		if !f.set {
			continue
		}
		if f.value == "host" {
			check(g.RemoveLinuxNamespace(ns))
			continue
		}
		check(g.AddOrReplaceLinuxNamespace(ns, f.value))
	}
	// The 2017 command's parseTmpfsMount() + AddTmpfsMount().
	for _, t := range tmpfs {
		parts := strings.Split(t, ":")
		m := rspec.Mount{Destination: parts[0], Type: "tmpfs", Source: "tmpfs",
			Options: []string{"rw", "noexec", "nosuid", "nodev", "size=65536k"}}
		if len(parts) == 2 {
			m.Options = strings.Split(parts[1], ",")
		} else if len(parts) != 1 {
			die("bad --tmpfs %q", t)
		}
		g.AddMount(m)
	}
	// AddCgroupsMount().
	if mountCgroups.set && mountCgroups.value != "no" {
		g.AddMount(rspec.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", mountCgroups.value}})
	}
	// The 2017 command's parseBindMount() + AddBindMount().
	for _, b := range binds {
		parts := strings.SplitN(b, ":", 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			die("bad --bind %q", b)
		}
		var options []string
		if len(parts) == 3 {
			options = strings.Split(parts[2], ":")
		}
		if len(options) == 0 {
			options = []string{"rw"}
		}
		found := false
		for _, o := range options {
			if o == "bind" || o == "rbind" {
				found = true
			}
		}
		if !found {
			options = append(options, "bind")
		}
		g.AddMount(rspec.Mount{Destination: parts[1], Type: "bind", Source: parts[0], Options: options})
	}
	for _, s := range mountsAdd {
		var m rspec.Mount
		check(json.Unmarshal([]byte(s), &m))
		g.AddMount(m)
	}
	for _, s := range poststart {
		var h rspec.Hook
		check(json.Unmarshal([]byte(s), &h))
		g.AddPostStartHook(h)
	}
	for _, s := range poststop {
		var h rspec.Hook
		check(json.Unmarshal([]byte(s), &h))
		g.AddPostStopHook(h)
	}
	for _, s := range prestart {
		var h rspec.Hook
		check(json.Unmarshal([]byte(s), &h))
		g.AddPreStartHook(h)
	}
	if propagation.set {
		check(g.SetLinuxRootPropagation(propagation.value))
	}
	for _, m := range uidMaps {
		p := strings.Split(m, ":")
		g.AddLinuxUIDMapping(u32(p[0]), u32(p[1]), u32(p[2]))
	}
	for _, m := range gidMaps {
		p := strings.Split(m, ":")
		g.AddLinuxGIDMapping(u32(p[0]), u32(p[1]), u32(p[2]))
	}
	if cpuShares.set {
		v, err := strconv.ParseUint(cpuShares.value, 10, 64)
		check(err)
		g.SetLinuxResourcesCPUShares(v)
	}
	if pidsLimit.set {
		v, err := strconv.ParseInt(pidsLimit.value, 10, 64)
		check(err)
		g.SetLinuxResourcesPidsLimit(v)
	}
	if memLimit.set {
		v, err := strconv.ParseInt(memLimit.value, 10, 64)
		check(err)
		g.SetLinuxResourcesMemoryLimit(v)
	}
	if nsRemoveAll.value {
		g.ClearLinuxNamespaces()
	}
	for _, ns := range nsAdd {
		parts := strings.SplitN(ns, ":", 2)
		path := ""
		if len(parts) == 2 {
			path = parts[1]
		}
		check(g.AddOrReplaceLinuxNamespace(parts[0], path))
	}
	for _, ns := range nsRemove {
		check(g.RemoveLinuxNamespace(ns))
	}
	for _, r := range rlimits {
		p := strings.Split(r, ":")
		if len(p) != 3 {
			die("bad rlimit %q", r)
		}
		hard, err := strconv.ParseUint(p[1], 10, 64)
		check(err)
		soft, err := strconv.ParseUint(p[2], 10, 64)
		check(err)
		g.AddProcessRlimits(p[0], hard, soft)
	}
	check(g.Save(os.Stdout, generate.ExportOptions{}))
}
