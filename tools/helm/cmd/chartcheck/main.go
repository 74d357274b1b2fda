// chartcheck validates rendered manifests (helm template output) offline: against the Kubernetes
// API schemas and the Dapr CRDs (internal/schema), against the platform policy (internal/policy),
// and optionally against the Dapr settings of local mode (internal/drift). Every problem is one
// line naming the check, the object and the field. Exit status 1 when anything fails.
//
//	chartcheck [--crds PATH]... [--dapr-ref REPO_ROOT] [--waive RULE:FIELD]... [--expect FILE] rendered.yaml...
//
// --waive reports matching policy findings (rule, and a substring of the field) as WAIVED instead of
// failing: only for overlays that relax one rule on purpose (tilt/values-tilt.yaml).
//
// --expect turns the run into a negative test: it passes only if the policy reports every
// violation listed in FILE (lines "rule Kind/name field", # comments allowed), and fails otherwise.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"wallet-platform/tools/helm/internal/drift"
	"wallet-platform/tools/helm/internal/manifest"
	"wallet-platform/tools/helm/internal/policy"
	"wallet-platform/tools/helm/internal/schema"
)

type listFlag []string

var waivers listFlag

func waived(f policy.Finding) bool {
	for _, w := range waivers {
		rule, field, _ := strings.Cut(w, ":")
		if f.Rule == rule && strings.Contains(f.Field, field) {
			return true
		}
	}
	return false
}

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var crds listFlag
	flag.Var(&crds, "crds", "CRD file or directory of CRD files (repeatable)")
	flag.Var(&waivers, "waive", "RULE:FIELD-SUBSTRING of policy findings to report but not fail on (repeatable)")
	daprRef := flag.String("dapr-ref", "", "repository root: compare the Dapr resources with components/kubernetes/<broker> and dapr/*.yaml")
	expect := flag.String("expect", "", "negative test: file of violations (rule Kind/name field) that must all be reported")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: chartcheck [--crds PATH]... [--dapr-ref ROOT] [--expect FILE] rendered.yaml...")
		os.Exit(2)
	}
	os.Exit(run(crds, *daprRef, *expect, flag.Args()))
}

func run(crds []string, daprRef, expect string, files []string) int {
	v := schema.New()
	for _, p := range crds {
		paths := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			paths, _ = filepath.Glob(filepath.Join(p, "*.yaml"))
		}
		for _, f := range paths {
			if err := v.LoadCRDFile(f); err != nil {
				fmt.Fprintf(os.Stderr, "chartcheck: loading CRDs: %v\n", err)
				return 2
			}
		}
	}

	var objs []*manifest.Object
	failures := 0
	for _, f := range files {
		o, bad, err := manifest.ReadFile(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chartcheck: %v\n", err)
			return 2
		}
		for _, b := range bad {
			fmt.Printf("FAIL schema %s: %v\n", b.Source, b.Err)
			failures++
		}
		objs = append(objs, o...)
	}

	// 1. Schema.
	schemaProblems := 0
	for _, o := range objs {
		for _, f := range v.Validate(o) {
			fmt.Printf("FAIL schema %s\n", f)
			schemaProblems++
		}
	}
	fmt.Printf("schema: %d objects against the Kubernetes API %s and %d CRD versions (%s): %d problems\n",
		len(objs), schema.KubeVersion, len(v.CRDKinds()), strings.Join(v.CRDKinds(), " "), schemaProblems)
	failures += schemaProblems

	// 2. Policy.
	found := policy.Check(objs)
	if expect != "" {
		return checkExpected(expect, found, failures)
	}
	violations, nWaived := 0, 0
	for _, f := range found {
		if waived(f) {
			fmt.Printf("WAIVED policy %s\n", f)
			nWaived++
			continue
		}
		fmt.Printf("FAIL policy %s\n", f)
		violations++
	}
	fmt.Printf("policy: %d rules over %d objects: %d violations, %d waived\n", len(policy.Rules), len(objs), violations, nWaived)
	failures += violations

	// 3. Drift from the local-mode Dapr settings.
	if daprRef != "" {
		diffs, err := drift.Compare(daprRef, objs)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chartcheck: drift: %v\n", err)
			return 2
		}
		for _, d := range diffs {
			fmt.Printf("FAIL drift %s\n", d)
		}
		fmt.Printf("drift: Dapr resources against %s/{components/kubernetes,dapr}: %d differences\n", daprRef, len(diffs))
		failures += len(diffs)
	}
	if failures > 0 {
		return 1
	}
	return 0
}

// checkExpected: every expected violation must be reported (and the run must not fail on schema,
// which would mean the broken values never reached the policy).
func checkExpected(path string, found []policy.Finding, schemaFailures int) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chartcheck: %v\n", err)
		return 2
	}
	defer f.Close()
	got := map[string]bool{}
	for _, x := range found {
		got[x.Rule+" "+x.Object+" "+x.Field] = true
		fmt.Printf("rejected: %s\n", x)
	}
	missing := 0
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.Join(strings.Fields(sc.Text()), " ")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if !got[line] {
			fmt.Printf("FAIL expected violation not reported: %s\n", line)
			missing++
		}
	}
	if schemaFailures > 0 {
		fmt.Printf("FAIL the broken values must render schema-valid objects, so that the policy is what rejects them (%d schema problems)\n", schemaFailures)
	}
	fmt.Printf("negative test: %d expected violations, %d reported, %d missing\n", n, len(found), missing)
	if missing > 0 || schemaFailures > 0 || n == 0 {
		return 1
	}
	return 0
}
