// Package schema validates rendered objects the way the API server would on a strict create:
// built-in kinds by strict decoding into client-go's typed API (unknown and duplicate fields are
// errors, every value must fit its Go type), custom resources against their CRD's openAPIV3Schema
// (the apiextensions validator, and structural pruning to find unknown fields), and every
// object's metadata (names, labels, annotations) with apimachinery's own validation.
// Nothing here needs a cluster or the network.
package schema

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"wallet-platform/tools/helm/internal/manifest"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// Finding is one schema violation: the object, the field path, and what is wrong.
type Finding struct {
	Object  string
	Field   string
	Message string
}

func (f Finding) String() string {
	if f.Field == "" {
		return fmt.Sprintf("%s: %s", f.Object, f.Message)
	}
	return fmt.Sprintf("%s %s: %s", f.Object, f.Field, f.Message)
}

type crd struct {
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	namespaced bool
}

// Validator knows the built-in API of the client-go version this module pins, plus loaded CRDs.
type Validator struct {
	decoder runtime.Decoder
	crds    map[k8sschema.GroupVersionKind]*crd
}

// New returns a validator for the built-in kinds.
func New() *Validator {
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	return &Validator{decoder: codecs.UniversalDeserializer(), crds: map[k8sschema.GroupVersionKind]*crd{}}
}

// LoadCRDFile adds every CustomResourceDefinition (apiextensions.k8s.io/v1) found in a file.
func (v *Validator) LoadCRDFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	objs, bad, err := manifest.Read(path, f)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return bad[0]
	}
	for _, o := range objs {
		if o.Kind != "CustomResourceDefinition" {
			continue
		}
		var def apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict(o.JSON, &def); err != nil {
			return fmt.Errorf("%s: %w", o.Source, err)
		}
		for _, ver := range def.Spec.Versions {
			if ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
				return fmt.Errorf("%s: CRD %s version %s has no openAPIV3Schema", o.Source, def.Name, ver.Name)
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(ver.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				return fmt.Errorf("%s: converting %s/%s: %w", o.Source, def.Name, ver.Name, err)
			}
			st, err := structuralschema.NewStructural(&internal)
			if err != nil {
				return fmt.Errorf("%s: %s/%s is not a structural schema: %w", o.Source, def.Name, ver.Name, err)
			}
			val, _, err := apiservervalidation.NewSchemaValidator(&internal)
			if err != nil {
				return fmt.Errorf("%s: %s/%s: %w", o.Source, def.Name, ver.Name, err)
			}
			gvk := k8sschema.GroupVersionKind{Group: def.Spec.Group, Version: ver.Name, Kind: def.Spec.Names.Kind}
			v.crds[gvk] = &crd{structural: st, validator: val, namespaced: def.Spec.Scope == apiextensionsv1.NamespaceScoped}
		}
	}
	return nil
}

// CRDKinds lists the custom kinds loaded, for the log.
func (v *Validator) CRDKinds() []string {
	var out []string
	for gvk := range v.crds {
		out = append(out, gvk.GroupVersion().String()+"/"+gvk.Kind)
	}
	sort.Strings(out)
	return out
}

// Validate returns every schema problem of one object (nil when it is valid).
func (v *Validator) Validate(o *manifest.Object) []Finding {
	gv, err := k8sschema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return []Finding{{o.ID(), "apiVersion", err.Error()}}
	}
	gvk := gv.WithKind(o.Kind)
	if since, gone := removedGroupVersions[o.APIVersion]; gone {
		return []Finding{{o.ID(), "apiVersion", fmt.Sprintf("%s is no longer served (removed in Kubernetes %s)", o.APIVersion, since)}}
	}
	var found []Finding
	namespaced := true
	if c, ok := v.crds[gvk]; ok {
		namespaced = c.namespaced
		found = append(found, v.validateCustom(o, c)...)
	} else if scheme.Scheme.Recognizes(gvk) {
		namespaced = isNamespaced(gvk)
		found = append(found, v.validateBuiltin(o, gvk)...)
	} else {
		return []Finding{{o.ID(), "apiVersion", fmt.Sprintf("no schema for %s %s: not a served built-in kind of Kubernetes %s and no CRD loaded for it", o.APIVersion, o.Kind, KubeVersion)}}
	}
	found = append(found, validateMeta(o, gvk, namespaced)...)
	return found
}

func (v *Validator) validateBuiltin(o *manifest.Object, gvk k8sschema.GroupVersionKind) []Finding {
	_, _, err := v.decoder.Decode(o.JSON, &gvk, nil)
	if err == nil {
		return nil
	}
	var out []Finding
	if strict, ok := runtime.AsStrictDecodingError(err); ok {
		for _, e := range strict.Errors() {
			out = append(out, Finding{o.ID(), strictField(e.Error()), strictMessage(e.Error())})
		}
		return out
	}
	return []Finding{{o.ID(), "", "does not decode into the Kubernetes API type: " + err.Error()}}
}

func (v *Validator) validateCustom(o *manifest.Object, c *crd) []Finding {
	var out []Finding
	// Unknown fields: what the API server's pruning would drop (it rejects them with fieldValidation=Strict).
	cp := runtime.DeepCopyJSON(o.Map)
	for _, p := range pruning.PruneWithOptions(cp, c.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		out = append(out, Finding{o.ID(), p, "unknown field (not in the CRD schema)"})
	}
	for _, e := range apiservervalidation.ValidateCustomResource(nil, o.Map, c.validator) {
		out = append(out, Finding{o.ID(), e.Field, fieldErr(e)})
	}
	return out
}

func validateMeta(o *manifest.Object, gvk k8sschema.GroupVersionKind, namespaced bool) []Finding {
	raw, _ := o.Map["metadata"].(map[string]any)
	js, err := sigsyaml.Marshal(raw)
	if err != nil {
		return []Finding{{o.ID(), "metadata", err.Error()}}
	}
	var meta metav1.ObjectMeta
	if err := sigsyaml.UnmarshalStrict(js, &meta); err != nil {
		return []Finding{{o.ID(), "metadata", err.Error()}}
	}
	// Rendered manifests leave the namespace to `helm install -n`: validate as if it were set.
	if namespaced && meta.Namespace == "" {
		meta.Namespace = "default"
	}
	nameFn := apimachineryvalidation.NameIsDNSSubdomain
	if gvk.Group == "" && gvk.Kind == "Service" {
		nameFn = apimachineryvalidation.NameIsDNS1035Label
	}
	var out []Finding
	for _, e := range apimachineryvalidation.ValidateObjectMetaAccessor(&meta, namespaced, nameFn, field.NewPath("metadata")) {
		out = append(out, Finding{o.ID(), e.Field, fieldErr(e)})
	}
	return out
}

// strict decoding errors read `unknown field "spec.template.spec.foo"` or `duplicate field "x"`.
func strictField(msg string) string {
	if i := strings.Index(msg, `"`); i >= 0 {
		if j := strings.LastIndex(msg, `"`); j > i {
			return msg[i+1 : j]
		}
	}
	return ""
}

func strictMessage(msg string) string {
	if i := strings.Index(msg, ` "`); i >= 0 {
		return msg[:i]
	}
	return msg
}

// The built-in kinds a chart renders that are cluster-scoped (the rest are namespaced).
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"StorageClass": true, "PriorityClass": true, "IngressClass": true, "CustomResourceDefinition": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "RuntimeClass": true,
}

func isNamespaced(gvk k8sschema.GroupVersionKind) bool { return !clusterScoped[gvk.Kind] }

func fieldErr(e *field.Error) string {
	msg := string(e.Type)
	if e.BadValue != nil && e.Type != field.ErrorTypeRequired {
		msg += fmt.Sprintf(" (%v)", e.BadValue)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}
