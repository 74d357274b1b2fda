package schema

import "runtime/debug"

// KubeVersion names the Kubernetes API the built-in schemas come from: the pinned k8s.io/api module.
var KubeVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/api" {
				return "(k8s.io/api " + d.Version + ")"
			}
		}
	}
	return "(k8s.io/api as pinned in tools/helm/go.mod)"
}()
