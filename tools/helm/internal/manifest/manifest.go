// Package manifest reads rendered Kubernetes manifests (helm template output): multi-document
// YAML, each document one object, named the way a reviewer would look for it (Kind/name).
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one rendered document.
type Object struct {
	Source     string // file and document number, e.g. out.yaml#3
	Template   string // helm's "# Source:" comment, when present
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	JSON       []byte         // the document as JSON (duplicate keys already rejected)
	Map        map[string]any // the same, decoded
}

// ID is how findings name an object: Kind/name.
func (o *Object) ID() string { return o.Kind + "/" + o.Name }

// LoadError is a document that is not a valid object at all (bad YAML, duplicate keys, no kind).
type LoadError struct {
	Source string
	Err    error
}

func (e *LoadError) Error() string { return fmt.Sprintf("%s: %v", e.Source, e.Err) }

// ReadFile loads every non-empty document of a file.
func ReadFile(path string) ([]*Object, []*LoadError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return Read(path, f)
}

// Read loads every non-empty document of a stream.
func Read(name string, r io.Reader) ([]*Object, []*LoadError, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []*Object
	var bad []*LoadError
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: reading document %d: %w", name, i, err)
		}
		src := fmt.Sprintf("%s#%d", name, i)
		if isBlank(doc) {
			continue
		}
		// YAMLToJSONStrict refuses duplicate keys, which a lenient decoder would silently merge.
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			bad = append(bad, &LoadError{Source: src, Err: err})
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(js, &m); err != nil || m == nil {
			bad = append(bad, &LoadError{Source: src, Err: fmt.Errorf("not a mapping: %v", err)})
			continue
		}
		o := &Object{Source: src, Template: helmSource(doc), JSON: js, Map: m}
		o.APIVersion, _ = m["apiVersion"].(string)
		o.Kind, _ = m["kind"].(string)
		if md, ok := m["metadata"].(map[string]any); ok {
			o.Name, _ = md["name"].(string)
			o.Namespace, _ = md["namespace"].(string)
		}
		if o.APIVersion == "" || o.Kind == "" {
			bad = append(bad, &LoadError{Source: src, Err: errors.New("apiVersion and kind are required")})
			continue
		}
		objs = append(objs, o)
	}
	return objs, bad, nil
}

func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := strings.TrimSpace(string(line))
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			return false
		}
	}
	return true
}

func helmSource(doc []byte) string {
	for _, line := range strings.Split(string(doc), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return ""
}
