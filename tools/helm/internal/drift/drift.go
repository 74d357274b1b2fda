// Package drift compares the chart's Dapr resources with the ones local mode runs on
// (components/kubernetes/<broker>/*.yaml, dapr/config*.yaml, dapr/resiliency.yaml), so the
// cluster and a developer's machine keep the same broker settings, ACLs and resiliency policies.
// Secret names may differ (values choose them); the secret keys, literal values, scopes,
// ACL entries and policies may not.
package drift

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"wallet-platform/tools/helm/internal/manifest"
	"wallet-platform/tools/helm/internal/policy"

	"sigs.k8s.io/yaml"
)

// Compare returns one line per difference.
func Compare(root string, rendered []*manifest.Object) ([]string, error) {
	var out []string
	byKind := map[string][]*manifest.Object{}
	for _, o := range rendered {
		if strings.HasPrefix(o.APIVersion, "dapr.io/") {
			byKind[o.Kind] = append(byKind[o.Kind], o)
		}
	}

	// Components: the broker follows the rendered pubsub's type.
	broker := ""
	for _, c := range byKind["Component"] {
		if c.Name == "pubsub" {
			broker = strings.TrimPrefix(str(dig(c.Map, "spec", "type")), "pubsub.")
		}
	}
	if broker == "" {
		return []string{"Component/pubsub: not rendered"}, nil
	}
	refDir := filepath.Join(root, "components", "kubernetes", broker)
	refs, err := readDir(refDir)
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if ref.Kind != "Component" {
			continue
		}
		got := find(byKind["Component"], ref.Name)
		if got == nil {
			out = append(out, fmt.Sprintf("Component/%s: in %s but not rendered", ref.Name, rel(root, ref.Source)))
			continue
		}
		for _, f := range []string{"type", "version"} {
			if a, b := str(dig(ref.Map, "spec", f)), str(dig(got.Map, "spec", f)); a != b {
				out = append(out, fmt.Sprintf("Component/%s spec.%s: chart %q, %s %q", ref.Name, f, b, rel(root, ref.Source), a))
			}
		}
		want, have := metadataItems(ref.Map), metadataItems(got.Map)
		for _, k := range union(want, have) {
			if want[k] != have[k] {
				out = append(out, fmt.Sprintf("Component/%s spec.metadata[%s]: chart %s, %s %s", ref.Name, k, orMissing(have[k]), rel(root, ref.Source), orMissing(want[k])))
			}
		}
		if a, b := str(dig(ref.Map, "auth", "secretStore")), str(dig(got.Map, "auth", "secretStore")); a != b {
			out = append(out, fmt.Sprintf("Component/%s auth.secretStore: chart %q, %s %q", ref.Name, b, rel(root, ref.Source), a))
		}
		if a, b := strList(ref.Map["scopes"]), strList(got.Map["scopes"]); !slices.Equal(a, b) {
			out = append(out, fmt.Sprintf("Component/%s scopes: chart %v, %s %v", ref.Name, b, rel(root, ref.Source), a))
		}
	}

	// Configurations: the ACL of each app, read the way infra/run-daprd.sh picks the file.
	for _, app := range policy.AppIDs {
		refPath := filepath.Join(root, "dapr", "config."+app+".yaml")
		if _, err := os.Stat(refPath); err != nil {
			refPath = filepath.Join(root, "dapr", "config.yaml")
		}
		refObjs, _, err := manifest.ReadFile(refPath)
		if err != nil || len(refObjs) != 1 {
			return nil, fmt.Errorf("reading %s: %v", refPath, err)
		}
		ref := refObjs[0]
		var got *manifest.Object
		for _, c := range byKind["Configuration"] {
			if strings.HasSuffix(c.Name, "-"+app+"-dapr") {
				got = c
			}
		}
		if got == nil {
			continue // the app is disabled in this release
		}
		// spec.mtls is not compared: self-hosted daprd reads it from this file, Kubernetes from the control plane.
		if a, b := str(dig(ref.Map, "spec", "accessControl", "defaultAction")), str(dig(got.Map, "spec", "accessControl", "defaultAction")); a != b {
			out = append(out, fmt.Sprintf("%s spec.accessControl.defaultAction: chart %q, %s %q", got.ID(), b, rel(root, refPath), a))
		}
		if a, b := aclEntries(ref.Map), aclEntries(got.Map); !slices.Equal(a, b) {
			out = append(out, fmt.Sprintf("%s spec.accessControl.policies: chart %v, %s %v", got.ID(), b, rel(root, refPath), a))
		}
	}

	// Resiliency: same policies, same targets (less the contract-test apps, which are never deployed).
	resPath := filepath.Join(root, "dapr", "resiliency.yaml")
	resRefs, _, err := manifest.ReadFile(resPath)
	if err != nil || len(resRefs) != 1 {
		return nil, fmt.Errorf("reading %s: %v", resPath, err)
	}
	res := byKind["Resiliency"]
	if len(res) != 1 {
		out = append(out, fmt.Sprintf("Resiliency: the chart renders %d, %s has 1", len(res), rel(root, resPath)))
	} else {
		ref, got := resRefs[0].Map, res[0].Map
		for _, part := range []string{"timeouts", "retries", "circuitBreakers"} {
			a, _ := norm(dig(ref, "spec", "policies", part)).(map[string]any)
			b, _ := norm(dig(got, "spec", "policies", part)).(map[string]any)
			names := map[string]bool{}
			for k := range a {
				names[k] = true
			}
			for k := range b {
				names[k] = true
			}
			for _, k := range slices.Sorted(maps.Keys(names)) {
				if !reflect.DeepEqual(a[k], b[k]) {
					out = append(out, fmt.Sprintf("%s spec.policies.%s.%s: chart %v, %s %v", res[0].ID(), part, k, b[k], rel(root, resPath), a[k]))
				}
			}
		}
		refApps, _ := dig(ref, "spec", "targets", "apps").(map[string]any)
		gotApps, _ := dig(got, "spec", "targets", "apps").(map[string]any)
		for app, t := range refApps {
			if strings.HasPrefix(app, "platform-contract-") {
				continue
			}
			if g, ok := gotApps[app]; !ok || !reflect.DeepEqual(norm(t), norm(g)) {
				out = append(out, fmt.Sprintf("%s spec.targets.apps.%s: chart %v, %s %v", res[0].ID(), app, norm(g), rel(root, resPath), norm(t)))
			}
		}
		if a, b := norm(dig(ref, "spec", "targets", "components")), norm(dig(got, "spec", "targets", "components")); !reflect.DeepEqual(a, b) {
			out = append(out, fmt.Sprintf("%s spec.targets.components: chart %v, %s %v", res[0].ID(), b, rel(root, resPath), a))
		}
	}
	return out, nil
}

func readDir(dir string) ([]*manifest.Object, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no component files in %s", dir)
	}
	var out []*manifest.Object
	for _, p := range paths {
		objs, bad, err := manifest.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			return nil, bad[0]
		}
		out = append(out, objs...)
	}
	return out, nil
}

func find(objs []*manifest.Object, name string) *manifest.Object {
	for _, o := range objs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	sort.Strings(out)
	return out
}

// metadataItems: name -> "value X" or "secret key K" (the Secret's name is the chart's choice).
func metadataItems(m map[string]any) map[string]string {
	out := map[string]string{}
	items, _ := dig(m, "spec", "metadata").([]any)
	for _, it := range items {
		im, _ := it.(map[string]any)
		name := str(im["name"])
		if ref, ok := im["secretKeyRef"].(map[string]any); ok {
			out[name] = fmt.Sprintf("secret key %q", str(ref["key"]))
		} else {
			out[name] = fmt.Sprintf("value %q", str(im["value"]))
		}
	}
	return out
}

func aclEntries(m map[string]any) []string {
	pols, _ := dig(m, "spec", "accessControl", "policies").([]any)
	var out []string
	for _, p := range pols {
		out = append(out, fmt.Sprintf("%s:%s", str(dig(p, "appId")), str(dig(p, "defaultAction"))))
	}
	sort.Strings(out)
	return out
}

// norm: a JSON round trip, so YAML scalars compare the same whichever way they were written.
func norm(v any) any {
	b, _ := yaml.Marshal(v)
	var out any
	_ = yaml.Unmarshal(b, &out)
	return out
}

func union(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func orMissing(s string) string {
	if s == "" {
		return "(missing)"
	}
	return s
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}
