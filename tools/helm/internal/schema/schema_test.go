package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wallet-platform/tools/helm/internal/manifest"
)

func objects(t *testing.T, doc string) ([]*manifest.Object, []*manifest.LoadError) {
	t.Helper()
	objs, bad, err := manifest.Read("t.yaml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return objs, bad
}

func fields(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return strings.Join(out, "\n")
}

func TestBuiltinStrict(t *testing.T) {
	v := New()
	ok, _ := objects(t, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{name: http, port: 80, targetPort: http}]\n")
	if f := v.Validate(ok[0]); len(f) != 0 {
		t.Fatalf("valid Service rejected: %s", fields(f))
	}
	cases := map[string]string{
		"unknown field":      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  prots: []\n",
		"wrong type":         "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: eighty}]\n",
		"bad name":           "apiVersion: v1\nkind: Service\nmetadata: {name: Web_1}\n",
		"removed apiVersion": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n",
		"unknown kind":       "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
	}
	for name, doc := range cases {
		objs, _ := objects(t, doc)
		if f := v.Validate(objs[0]); len(f) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

func TestDuplicateKeysAreLoadErrors(t *testing.T) {
	_, bad := objects(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: x, a: y}}\n")
	if len(bad) != 1 {
		t.Fatalf("duplicate key not reported: %v", bad)
	}
}

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1}
`

func TestCustomResourceAgainstCRD(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "crd.yaml")
	if err := os.WriteFile(p, []byte(widgetCRD), 0o600); err != nil {
		t.Fatal(err)
	}
	v := New()
	if err := v.LoadCRDFile(p); err != nil {
		t.Fatal(err)
	}
	good, _ := objects(t, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 2}\n")
	if f := v.Validate(good[0]); len(f) != 0 {
		t.Fatalf("valid Widget rejected: %s", fields(f))
	}
	for doc, want := range map[string]string{
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 2, colour: red}\n": "spec.colour",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 0}\n":              "spec.size",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n":                     "spec.size",
	} {
		objs, _ := objects(t, doc)
		f := v.Validate(objs[0])
		if !strings.Contains(fields(f), want) {
			t.Errorf("%q: want a finding on %s, got %s", doc, want, fields(f))
		}
	}
}
