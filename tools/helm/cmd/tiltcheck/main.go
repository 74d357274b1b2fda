// tiltcheck loads the repository's Tiltfile the way Tilt would (Starlark with Tilt's dialect
// options), with Tilt's built-ins replaced by recorders, and checks what it would create: resource
// names and dependencies, the commands and files they use, and in cluster mode the images, live
// update paths and the workloads of the chart rendered by the real helm. Tilt itself cannot be
// built here (the Go module proxy refuses github.com/tilt-dev/tilt), so this is what CI can run
// instead of `tilt ci`; it does not start anything.
//
//	tiltcheck [--helm PATH] [--context NAME] [--expect NAME,...] [-- tilt args, e.g. --mode=local]
//
// Run from the repository root. local() commands really run (the Tiltfile's own, e.g. tilt/dev-env.ts),
// except kubectl, which is answered as a cluster with Dapr installed would.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
	"sigs.k8s.io/yaml"
)

type resource struct {
	name, kind string
	deps       []string
	argv0      string
	// For --dump: what Tilt would run.
	Name     string            `json:"name"`
	Cmd      []string          `json:"cmd,omitempty"`
	ServeCmd []string          `json:"serve_cmd,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	ServeEnv map[string]string `json:"serve_env,omitempty"`
	Deps     []string          `json:"resource_deps,omitempty"`
}

type checker struct {
	root     string
	helm     string
	context  string
	tiltArgs map[string]string
	problems []string

	resources  []*resource
	workloads  map[string]string // name -> kind, from k8s_yaml
	images     map[string]bool   // image refs seen in k8s_yaml
	builds     []string          // docker_build refs
	k8sNamed   []string
	allowedCtx []string
}

func (c *checker) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func main() {
	helmBin := flag.String("helm", "helm", "helm binary for helm()")
	kctx := flag.String("context", "", "kube context k8s_context() returns (empty = no cluster)")
	expect := flag.String("expect", "", "comma-separated resource names that must be defined")
	dump := flag.Bool("dump", false, "print the local resources (commands, env) as JSON lines and exit")
	flag.Parse()
	root, _ := os.Getwd()
	c := &checker{root: root, helm: *helmBin, context: *kctx, tiltArgs: map[string]string{},
		workloads: map[string]string{}, images: map[string]bool{}}
	for _, a := range flag.Args() {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		c.tiltArgs[k] = v
	}
	if err := c.run(); err != nil {
		fmt.Println("FAIL tiltfile:", err)
		os.Exit(1)
	}
	if *dump {
		for _, r := range c.resources {
			b, _ := json.Marshal(r)
			fmt.Println(string(b))
		}
		return
	}
	c.verify(*expect)
	for _, p := range c.problems {
		fmt.Println("FAIL", p)
	}
	fmt.Printf("tiltfile: %d resources (%s), %d problems\n", len(c.resources), c.summary(), len(c.problems))
	if len(c.problems) > 0 {
		os.Exit(1)
	}
}

func (c *checker) summary() string {
	var names []string
	for _, r := range c.resources {
		names = append(names, r.name)
	}
	return strings.Join(names, " ")
}

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

func (c *checker) run() error {
	predeclared := c.builtins()
	cache := map[string]starlark.StringDict{}
	var load func(t *starlark.Thread, module string) (starlark.StringDict, error)
	load = func(t *starlark.Thread, module string) (starlark.StringDict, error) {
		p := filepath.Join(c.root, module)
		if g, ok := cache[p]; ok {
			return g, nil
		}
		th := &starlark.Thread{Name: module, Load: load, Print: func(_ *starlark.Thread, msg string) { fmt.Println(msg) }}
		g, err := starlark.ExecFileOptions(fileOptions, th, p, nil, predeclared)
		cache[p] = g
		return g, err
	}
	th := &starlark.Thread{Name: "Tiltfile", Load: load, Print: func(_ *starlark.Thread, msg string) { fmt.Println(msg) }}
	_, err := starlark.ExecFileOptions(fileOptions, th, filepath.Join(c.root, "Tiltfile"), nil, predeclared)
	if e, ok := err.(*starlark.EvalError); ok {
		return fmt.Errorf("%s", e.Backtrace())
	}
	return err
}

func (c *checker) verify(expect string) {
	names := map[string]bool{}
	for _, r := range c.resources {
		if names[r.name] {
			c.problem("resource %q defined twice", r.name)
		}
		names[r.name] = true
	}
	for _, r := range c.resources {
		for _, d := range r.deps {
			if !names[d] {
				c.problem("resource %q depends on %q, which is not defined", r.name, d)
			}
		}
		if r.argv0 != "" && !strings.Contains(r.argv0, " ") {
			if strings.Contains(r.argv0, "/") {
				if _, err := os.Stat(filepath.Join(c.root, r.argv0)); err != nil {
					c.problem("resource %q runs %s, which does not exist", r.name, r.argv0)
				}
			} else if _, err := exec.LookPath(r.argv0); err != nil {
				c.problem("resource %q runs %s, which is not on PATH", r.name, r.argv0)
			}
		}
	}
	for _, b := range c.builds {
		if !c.images[b] {
			c.problem("docker_build(%q): no rendered object uses that image", b)
		}
	}
	if expect != "" {
		for _, e := range strings.Split(expect, ",") {
			if !names[e] {
				c.problem("expected resource %q is not defined", e)
			}
		}
	}
}

// ---------------------------------------------------------------- built-ins

func (c *checker) builtins() starlark.StringDict {
	fn := func(name string, f func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, f)
	}
	none := func(name string) *starlark.Builtin {
		return fn(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.None, nil
		})
	}
	record := func(name string) *starlark.Builtin { // probe(), http_get_action(), link(), sync(), ...: a dict of the kwargs
		return fn(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			d := starlark.NewDict(len(kwargs) + 1)
			_ = d.SetKey(starlark.String("_kind"), starlark.String(name))
			_ = d.SetKey(starlark.String("_args"), args)
			for _, kv := range kwargs {
				_ = d.SetKey(kv[0], kv[1])
			}
			return d, nil
		})
	}
	defined := map[string]string{}
	config := &starlarkstruct.Module{Name: "config", Members: starlark.StringDict{
		"define_string": fn("config.define_string", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var name, usage string
			var isArgs bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "args?", &isArgs, "usage?", &usage); err != nil {
				return nil, err
			}
			defined[name] = "string"
			return starlark.None, nil
		}),
		"define_string_list": fn("config.define_string_list", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var name, usage string
			var isArgs bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "args?", &isArgs, "usage?", &usage); err != nil {
				return nil, err
			}
			defined[name] = "list"
			return starlark.None, nil
		}),
		"parse": fn("config.parse", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			d := starlark.NewDict(len(c.tiltArgs))
			for k, v := range c.tiltArgs {
				kind, ok := defined[k]
				if !ok {
					return nil, fmt.Errorf("config.parse: unknown flag --%s", k)
				}
				if kind == "list" {
					var l []starlark.Value
					for _, s := range strings.Split(v, ",") {
						l = append(l, starlark.String(s))
					}
					_ = d.SetKey(starlark.String(k), starlark.NewList(l))
				} else {
					_ = d.SetKey(starlark.String(k), starlark.String(v))
				}
			}
			return d, nil
		}),
	}}
	osPath := &starlarkstruct.Module{Name: "os.path", Members: starlark.StringDict{
		"exists": fn("os.path.exists", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var p string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
				return nil, err
			}
			_, err := os.Stat(c.abs(p))
			return starlark.Bool(err == nil), nil
		}),
	}}
	osMod := &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
		"path": osPath,
		"getenv": fn("os.getenv", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k string
			var def starlark.Value = starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &k, "default?", &def); err != nil {
				return nil, err
			}
			if v, ok := os.LookupEnv(k); ok {
				return starlark.String(v), nil
			}
			return def, nil
		}),
	}}

	return starlark.StringDict{
		"config": config,
		"os":     osMod,
		"k8s_context": fn("k8s_context", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.String(c.context), nil
		}),
		"update_settings": none("update_settings"),
		"watch_settings":  none("watch_settings"),
		"probe":           record("probe"),
		"http_get_action": record("http_get_action"),
		"link":            record("link"),
		"sync": fn("sync", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var src, dest string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "local_path", &src, "remote_path", &dest); err != nil {
				return nil, err
			}
			if _, err := os.Stat(c.abs(src)); err != nil {
				c.problem("sync(%q): no such path", src)
			}
			return starlark.String("sync:" + src), nil
		}),
		"fall_back_on": record("fall_back_on"),
		"allow_k8s_contexts": fn("allow_k8s_contexts", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var l *starlark.List
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
				return nil, err
			}
			for i := 0; i < l.Len(); i++ {
				c.allowedCtx = append(c.allowedCtx, string(l.Index(i).(starlark.String)))
			}
			return starlark.None, nil
		}),
		"local":              fn("local", c.local),
		"local_resource":     fn("local_resource", c.localResource),
		"decode_json":        fn("decode_json", decodeJSON),
		"encode_yaml":        fn("encode_yaml", encodeYAML(false)),
		"encode_yaml_stream": fn("encode_yaml_stream", encodeYAML(true)),
		"read_yaml_stream":   fn("read_yaml_stream", c.readYAMLStream),
		"blob": fn("blob", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var s string
			return starlark.String(s), starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s)
		}),
		"listdir":      fn("listdir", c.listdir),
		"k8s_yaml":     fn("k8s_yaml", c.k8sYAML),
		"helm":         fn("helm", c.helmTemplate),
		"docker_build": fn("docker_build", c.dockerBuild),
		"k8s_resource": fn("k8s_resource", c.k8sResource),
	}
}

func (c *checker) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.root, p)
}

func strList(v starlark.Value) ([]string, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	if s, ok := v.(starlark.String); ok {
		return []string{string(s)}, nil
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("want a string or a list of strings, got %s", v.Type())
	}
	var out []string
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := x.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("want strings, got %s", x.Type())
		}
		out = append(out, string(s))
	}
	return out, nil
}

func (c *checker) local(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cmd starlark.Value
	var quiet, echoOff bool
	var env *starlark.Dict
	var dir string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "command", &cmd, "quiet?", &quiet, "echo_off?", &echoOff, "env?", &env, "dir?", &dir); err != nil {
		return nil, err
	}
	argv, err := strList(cmd)
	if err != nil {
		return nil, err
	}
	if _, isStr := cmd.(starlark.String); isStr {
		if strings.HasPrefix(argv[0], "kubectl ") {
			return starlark.String("customresourcedefinition.apiextensions.k8s.io/components.dapr.io\n"), nil
		}
		argv = []string{"sh", "-c", argv[0]}
	}
	x := exec.Command(argv[0], argv[1:]...)
	x.Dir = c.root
	var out, errb bytes.Buffer
	x.Stdout, x.Stderr = &out, &errb
	if err := x.Run(); err != nil {
		return nil, fmt.Errorf("local(%v): %v\n%s", argv, err, errb.String())
	}
	return starlark.String(out.String()), nil
}

func (c *checker) localResource(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var cmd, serveCmd, deps, resourceDeps, labels, links starlark.Value
	var env, serveEnv *starlark.Dict
	var readiness starlark.Value
	var autoInit, allowParallel bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "cmd?", &cmd, "deps?", &deps,
		"serve_cmd?", &serveCmd, "resource_deps?", &resourceDeps, "env?", &env, "serve_env?", &serveEnv,
		"readiness_probe?", &readiness, "labels?", &labels, "links?", &links, "auto_init?", &autoInit,
		"allow_parallel?", &allowParallel); err != nil {
		return nil, err
	}
	r := &resource{name: name, kind: "local", Name: name}
	var err error
	if r.deps, err = strList(resourceDeps); err != nil {
		return nil, err
	}
	r.Deps = r.deps
	argv := func(v starlark.Value) []string {
		l, _ := strList(v)
		if _, isStr := v.(starlark.String); isStr && len(l) == 1 {
			return []string{"sh", "-c", l[0]}
		}
		return l
	}
	r.Cmd, r.ServeCmd = argv(cmd), argv(serveCmd)
	strDict := func(d *starlark.Dict) map[string]string {
		if d == nil {
			return nil
		}
		m := map[string]string{}
		for _, k := range d.Keys() {
			v, _, _ := d.Get(k)
			if s, ok := v.(starlark.String); ok {
				m[string(k.(starlark.String))] = string(s)
			}
		}
		return m
	}
	r.Env, r.ServeEnv = strDict(env), strDict(serveEnv)
	for _, v := range []starlark.Value{cmd, serveCmd} {
		if l, err := strList(v); err == nil && len(l) > 0 {
			if _, isStr := v.(starlark.String); isStr {
				l = strings.Fields(l[0])
			}
			r.argv0 = l[0]
		}
	}
	for _, e := range []*starlark.Dict{env, serveEnv} {
		if e == nil {
			continue
		}
		for _, k := range e.Keys() {
			v, _, _ := e.Get(k)
			if _, ok := v.(starlark.String); !ok {
				c.problem("resource %q: env %s is a %s, Tilt wants strings", name, k, v.Type())
			}
		}
	}
	c.resources = append(c.resources, r)
	return starlark.None, nil
}

func decodeJSON(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("decode_json: %w", err)
	}
	return fromGo(v), nil
}

func encodeYAML(stream bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
			return nil, err
		}
		g, err := toGo(v)
		if err != nil {
			return nil, err
		}
		items := []any{g}
		if stream {
			l, ok := g.([]any)
			if !ok {
				return nil, fmt.Errorf("encode_yaml_stream wants a list")
			}
			items = l
		}
		var parts []string
		for _, it := range items {
			y, err := yaml.Marshal(it)
			if err != nil {
				return nil, err
			}
			parts = append(parts, string(y))
		}
		return starlark.String(strings.Join(parts, "---\n")), nil
	}
}

func (c *checker) readYAMLStream(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
		return nil, err
	}
	docs, err := splitYAML(c.abs(p), nil)
	if err != nil {
		return nil, err
	}
	var l []starlark.Value
	for _, d := range docs {
		l = append(l, fromGo(d))
	}
	return starlark.NewList(l), nil
}

func splitYAML(path string, data []byte) ([]map[string]any, error) {
	if data == nil {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	var out []map[string]any
	for _, doc := range strings.Split("\n"+string(data), "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func (c *checker) listdir(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	var recursive bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "directory", &dir, "recursive?", &recursive); err != nil {
		return nil, err
	}
	var l []starlark.Value
	base := c.abs(dir)
	err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != base && (!recursive || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		l = append(l, starlark.String(p))
		return nil
	})
	return starlark.NewList(l), err
}

var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true, "ReplicaSet": true, "Pod": true}

func (c *checker) k8sYAML(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	var data []byte
	switch s := v.(type) {
	case starlark.String:
		data = []byte(s)
		if !strings.Contains(string(s), "\n") && strings.HasSuffix(string(s), ".yaml") {
			var err error
			if data, err = os.ReadFile(c.abs(string(s))); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("k8s_yaml: want a blob or a path, got %s", v.Type())
	}
	docs, err := splitYAML("k8s_yaml", data)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		kind, _ := d["kind"].(string)
		md, _ := d["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		if workloadKinds[kind] {
			if prev, dup := c.workloads[name]; dup {
				c.problem("two workloads named %q (%s, %s): k8s_resource would be ambiguous", name, prev, kind)
			}
			c.workloads[name] = kind
		}
		collectImages(d, c.images)
	}
	return starlark.None, nil
}

func collectImages(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			if s, ok := vv.(string); ok && k == "image" {
				ref := s
				if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
					ref = ref[:i]
				}
				into[ref] = true
			}
			collectImages(vv, into)
		}
	case []any:
		for _, vv := range x {
			collectImages(vv, into)
		}
	}
}

func (c *checker) helmTemplate(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path, name, namespace string
	var values, set starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "paths", &path, "name?", &name, "namespace?", &namespace, "values?", &values, "set?", &set); err != nil {
		return nil, err
	}
	argv := []string{"template", name, c.abs(path)}
	if namespace != "" {
		argv = append(argv, "--namespace", namespace)
	}
	vals, err := strList(values)
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		argv = append(argv, "-f", c.abs(v))
	}
	sets, err := strList(set)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		argv = append(argv, "--set", s)
	}
	out, err := exec.Command(c.helm, argv...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("helm %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return starlark.String(out), nil
}

func (c *checker) dockerBuild(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ref, context, dockerfile, target string
	var only, ignore, liveUpdate, buildArgs starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ref", &ref, "context", &context, "dockerfile?", &dockerfile,
		"target?", &target, "only?", &only, "ignore?", &ignore, "live_update?", &liveUpdate,
		"build_args?", &buildArgs); err != nil {
		return nil, err
	}
	df, err := os.ReadFile(c.abs(dockerfile))
	if err != nil {
		c.problem("docker_build(%q): dockerfile %s: %v", ref, dockerfile, err)
	} else if target != "" && !strings.Contains(string(df), " AS "+target+"\n") {
		c.problem("docker_build(%q): %s has no stage %q", ref, dockerfile, target)
	}
	if err == nil {
		c.checkBuildArgs(ref, dockerfile, string(df), buildArgs)
	}
	onlyPaths, err := strList(only)
	if err != nil {
		return nil, err
	}
	for _, p := range onlyPaths {
		if _, err := os.Stat(c.abs(filepath.Join(context, p))); err != nil {
			c.problem("docker_build(%q): only path %s does not exist", ref, p)
		}
	}
	// Tilt requires every fall_back_on step before the first sync.
	if l, ok := liveUpdate.(*starlark.List); ok {
		seenSync := false
		for i := 0; i < l.Len(); i++ {
			isFallBack := false
			if d, ok := l.Index(i).(*starlark.Dict); ok {
				k, _, _ := d.Get(starlark.String("_kind"))
				isFallBack = k == starlark.String("fall_back_on")
			}
			if isFallBack && seenSync {
				c.problem("docker_build(%q): fall_back_on must come before the syncs in live_update", ref)
			}
			seenSync = seenSync || !isFallBack
		}
	}
	c.builds = append(c.builds, ref)
	return starlark.None, nil
}

// checkBuildArgs: every build argument the Dockerfile declares without a default must be given.
func (c *checker) checkBuildArgs(ref, dockerfile, df string, buildArgs starlark.Value) {
	given := map[string]bool{}
	if d, ok := buildArgs.(*starlark.Dict); ok {
		for _, k := range d.Keys() {
			if name, ok := starlark.AsString(k); ok {
				given[name] = true
			}
		}
	}
	for _, line := range strings.Split(df, "\n") {
		fields := strings.Fields(line)
		if len(fields) != 2 || fields[0] != "ARG" || strings.Contains(fields[1], "=") {
			continue
		}
		if !given[fields[1]] {
			c.problem("docker_build(%q): %s needs build argument %s", ref, dockerfile, fields[1])
		}
	}
}

func (c *checker) k8sResource(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var workload string
	var portForwards, labels, resourceDeps starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "workload", &workload, "port_forwards?", &portForwards,
		"labels?", &labels, "resource_deps?", &resourceDeps); err != nil {
		return nil, err
	}
	if _, ok := c.workloads[workload]; !ok {
		var known []string
		for k := range c.workloads {
			known = append(known, k)
		}
		sort.Strings(known)
		c.problem("k8s_resource(%q): no such workload in k8s_yaml (workloads: %s)", workload, strings.Join(known, ", "))
	}
	if c.context != "" && len(c.allowedCtx) > 0 && !contains(c.allowedCtx, c.context) {
		c.problem("context %q is not in allow_k8s_contexts: Tilt would refuse to deploy", c.context)
	}
	deps, err := strList(resourceDeps)
	if err != nil {
		return nil, err
	}
	c.resources = append(c.resources, &resource{name: workload, kind: "k8s", deps: deps})
	return starlark.None, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- value conversion

func fromGo(v any) starlark.Value {
	switch x := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case float64:
		if x == float64(int64(x)) {
			return starlark.MakeInt64(int64(x))
		}
		return starlark.Float(x)
	case int64:
		return starlark.MakeInt64(x)
	case int:
		return starlark.MakeInt(x)
	case string:
		return starlark.String(x)
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = fromGo(e)
		}
		return starlark.NewList(l)
	case map[string]any:
		d := starlark.NewDict(len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = d.SetKey(starlark.String(k), fromGo(x[k]))
		}
		return d
	}
	return starlark.String(fmt.Sprint(v))
}

func toGo(v starlark.Value) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		i, _ := x.Int64()
		return i, nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case *starlark.List:
		out := make([]any, x.Len())
		for i := 0; i < x.Len(); i++ {
			g, err := toGo(x.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case starlark.Tuple:
		out := make([]any, len(x))
		for i, e := range x {
			g, err := toGo(e)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case *starlark.Dict:
		out := map[string]any{}
		for _, k := range x.Keys() {
			ks, ok := k.(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is not a string", k)
			}
			val, _, _ := x.Get(k)
			g, err := toGo(val)
			if err != nil {
				return nil, err
			}
			out[string(ks)] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode a %s", v.Type())
}
