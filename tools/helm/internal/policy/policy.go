// Package policy holds the platform's rules for a rendered release, beyond what the Kubernetes
// schema says: every Deployment is probed, bounded, locked down, spread, disrupted gracefully and
// autoscaled; every Dapr app id is one of our services; nothing secret is written in clear.
// Each violation names the rule, the object (Kind/name) and the field.
package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"wallet-platform/tools/helm/internal/manifest"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// AppIDs are the services of the platform: the only valid Dapr app ids.
var AppIDs = []string{"api-gateway", "identity", "wallet-ledger", "risk", "notification"}

// Finding is one violation.
type Finding struct {
	Rule    string
	Object  string
	Field   string
	Message string
}

func (f Finding) String() string {
	return fmt.Sprintf("[%s] %s %s: %s", f.Rule, f.Object, f.Field, f.Message)
}

// Rules lists every rule, for the summary of what was checked.
var Rules = []string{
	"probes", "resources", "security-context", "replicas-and-rollout", "topology-spread",
	"pdb", "hpa", "network-policy", "dapr-annotations", "dapr-app-id", "dapr-config",
	"dapr-scopes", "no-literal-secret", "database-urls", "migration-job", "image-ref", "ingress", "telemetry",
}

// Knowing the annotations the sidecar injector reads catches typos that would silently be ignored.
var knownDaprAnnotations = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`enabled app-port config app-protocol app-ssl app-id enable-profiling log-level
		api-token-secret app-token-secret log-as-json app-max-concurrency enable-metrics metrics-port enable-debug
		debug-port env env-from-secret grpc-port internal-grpc-port sidecar-cpu-request sidecar-cpu-limit
		sidecar-memory-request sidecar-memory-limit sidecar-listen-addresses sidecar-liveness-probe-delay-seconds
		sidecar-liveness-probe-timeout-seconds sidecar-liveness-probe-period-seconds sidecar-liveness-probe-threshold
		sidecar-readiness-probe-delay-seconds sidecar-readiness-probe-timeout-seconds sidecar-readiness-probe-period-seconds
		sidecar-readiness-probe-threshold sidecar-image sidecar-seccomp-profile-type http-max-request-size max-body-size
		http-read-buffer-size read-buffer-size graceful-shutdown-seconds block-shutdown-duration enable-api-logging
		unix-domain-socket-path volume-mounts volume-mounts-rw enable-app-health-check app-health-check-path
		app-health-probe-interval app-health-probe-timeout app-health-threshold placement-host-address
		scheduler-host-address pluggable-components pluggable-components-sockets-folder component-container
		inject-pluggable-components app-channel-address sentry-request-jwt-audiences`) {
		knownDaprAnnotations["dapr.io/"+k] = true
	}
}

// An env var or Dapr metadata item whose name says it carries a credential.
var secretName = regexp.MustCompile(`(?i)(token|secret|password|passwd|private|credential|jwk|_keys?$|^keys?$|connectionstring|apikey|api_key|smtp_url|redis_url)`)

// A URL with a password in it: scheme://user:pass@host. $(VAR) references are expanded by the kubelet from a Secret.
var urlWithPassword = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@`)

type release struct {
	objs        []*manifest.Object
	deployments []*typed[appsv1.Deployment]
	hpas        []*typed[autoscalingv2.HorizontalPodAutoscaler]
	pdbs        []*typed[policyv1.PodDisruptionBudget]
	netpols     []*typed[networkingv1.NetworkPolicy]
	jobs        []*typed[batchv1.Job]
	services    []*typed[corev1.Service]
	ingresses   []*typed[networkingv1.Ingress]
	secrets     []*typed[corev1.Secret]
	dapr        map[string][]*manifest.Object // Dapr kind -> objects
	found       []Finding
}

type typed[T any] struct {
	obj *manifest.Object
	v   T
}

func decode[T any](o *manifest.Object) (*typed[T], error) {
	var v T
	if err := yaml.Unmarshal(o.JSON, &v); err != nil {
		return nil, err
	}
	return &typed[T]{obj: o, v: v}, nil
}

func (r *release) fail(rule string, o *manifest.Object, fieldPath, format string, args ...any) {
	r.found = append(r.found, Finding{Rule: rule, Object: o.ID(), Field: fieldPath, Message: fmt.Sprintf(format, args...)})
}

// Check runs every rule over one rendered release and returns the violations (sorted).
func Check(objs []*manifest.Object) []Finding {
	r := &release{objs: objs, dapr: map[string][]*manifest.Object{}}
	for _, o := range objs {
		var err error
		switch {
		case o.Kind == "Deployment" && o.APIVersion == "apps/v1":
			var t *typed[appsv1.Deployment]
			if t, err = decode[appsv1.Deployment](o); err == nil {
				r.deployments = append(r.deployments, t)
			}
		case o.Kind == "HorizontalPodAutoscaler" && o.APIVersion == "autoscaling/v2":
			var t *typed[autoscalingv2.HorizontalPodAutoscaler]
			if t, err = decode[autoscalingv2.HorizontalPodAutoscaler](o); err == nil {
				r.hpas = append(r.hpas, t)
			}
		case o.Kind == "PodDisruptionBudget" && o.APIVersion == "policy/v1":
			var t *typed[policyv1.PodDisruptionBudget]
			if t, err = decode[policyv1.PodDisruptionBudget](o); err == nil {
				r.pdbs = append(r.pdbs, t)
			}
		case o.Kind == "NetworkPolicy" && o.APIVersion == "networking.k8s.io/v1":
			var t *typed[networkingv1.NetworkPolicy]
			if t, err = decode[networkingv1.NetworkPolicy](o); err == nil {
				r.netpols = append(r.netpols, t)
			}
		case o.Kind == "Job" && o.APIVersion == "batch/v1":
			var t *typed[batchv1.Job]
			if t, err = decode[batchv1.Job](o); err == nil {
				r.jobs = append(r.jobs, t)
			}
		case o.Kind == "Service" && o.APIVersion == "v1":
			var t *typed[corev1.Service]
			if t, err = decode[corev1.Service](o); err == nil {
				r.services = append(r.services, t)
			}
		case o.Kind == "Ingress" && o.APIVersion == "networking.k8s.io/v1":
			var t *typed[networkingv1.Ingress]
			if t, err = decode[networkingv1.Ingress](o); err == nil {
				r.ingresses = append(r.ingresses, t)
			}
		case o.Kind == "Secret" && o.APIVersion == "v1":
			var t *typed[corev1.Secret]
			if t, err = decode[corev1.Secret](o); err == nil {
				r.secrets = append(r.secrets, t)
			}
		case strings.HasPrefix(o.APIVersion, "dapr.io/"):
			r.dapr[o.Kind] = append(r.dapr[o.Kind], o)
		case o.Kind == "ConfigMap" && o.APIVersion == "v1":
			r.checkConfigMap(o)
		}
		if err != nil {
			r.fail("schema", o, "", "cannot decode: %v", err)
		}
	}
	if len(r.deployments) == 0 {
		r.found = append(r.found, Finding{Rule: "replicas-and-rollout", Object: "(release)", Field: "", Message: "renders no Deployment"})
	}
	for _, d := range r.deployments {
		r.checkDeployment(d)
	}
	for _, j := range r.jobs {
		r.checkPodSpec(j.obj, "spec.template.spec", &j.v.Spec.Template.Spec, false)
		r.checkEnvSecrets(j.obj, "spec.template.spec", &j.v.Spec.Template.Spec)
	}
	for _, s := range r.secrets {
		if len(s.v.Data) > 0 || len(s.v.StringData) > 0 {
			keys := slices.Sorted(mapKeys(s.v.Data, s.v.StringData))
			r.fail("no-literal-secret", s.obj, "data", "the chart must not carry secret values (keys %s): reference an existing Secret instead", strings.Join(keys, ", "))
		}
	}
	r.checkIngress()
	r.checkDapr()
	sort.SliceStable(r.found, func(i, j int) bool {
		a, b := r.found[i], r.found[j]
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Field < b.Field
	})
	return r.found
}

func mapKeys(a map[string][]byte, b map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
		for k := range b {
			if !yield(k) {
				return
			}
		}
	}
}

func containerPath(base string, c *corev1.Container) string {
	return fmt.Sprintf("%s.containers[%s]", base, c.Name)
}

func (r *release) checkDeployment(d *typed[appsv1.Deployment]) {
	o, spec := d.obj, &d.v.Spec
	pod := &spec.Template.Spec
	base := "spec.template.spec"
	r.checkPodSpec(o, base, pod, true)
	r.checkEnvSecrets(o, base, pod)
	r.checkInternalListener(o, &spec.Template)

	// Rollout: never below the wanted count during an update.
	if spec.Strategy.Type != "" && spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		r.fail("replicas-and-rollout", o, "spec.strategy.type", "must be RollingUpdate, is %s", spec.Strategy.Type)
	}
	if ru := spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" {
		r.fail("replicas-and-rollout", o, "spec.strategy.rollingUpdate.maxUnavailable", "must be 0 (no capacity lost during a rollout)")
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		r.fail("topology-spread", o, base+".topologySpreadConstraints", "missing: replicas must be spread over nodes and zones")
	} else {
		keys := map[string]bool{}
		for _, t := range pod.TopologySpreadConstraints {
			keys[t.TopologyKey] = true
			if t.LabelSelector == nil || !selectorMatches(t.LabelSelector, spec.Template.Labels) {
				r.fail("topology-spread", o, base+".topologySpreadConstraints["+t.TopologyKey+"].labelSelector", "does not select this Deployment's pods")
			}
		}
		if !keys["kubernetes.io/hostname"] {
			r.fail("topology-spread", o, base+".topologySpreadConstraints", "no constraint on kubernetes.io/hostname")
		}
	}

	// HPA: present, targets this Deployment, at least 2 replicas.
	var hpa *typed[autoscalingv2.HorizontalPodAutoscaler]
	for _, h := range r.hpas {
		ref := h.v.Spec.ScaleTargetRef
		if ref.Kind == "Deployment" && ref.Name == o.Name {
			hpa = h
		}
	}
	if hpa == nil {
		r.fail("hpa", o, "(HorizontalPodAutoscaler)", "no HorizontalPodAutoscaler targets this Deployment")
		if spec.Replicas == nil || *spec.Replicas < 2 {
			r.fail("replicas-and-rollout", o, "spec.replicas", "must be at least 2")
		}
	} else {
		if hpa.v.Spec.MinReplicas == nil || *hpa.v.Spec.MinReplicas < 2 {
			r.fail("hpa", hpa.obj, "spec.minReplicas", "must be at least 2 (HA)")
		}
		if hpa.v.Spec.MaxReplicas < 2 || (hpa.v.Spec.MinReplicas != nil && hpa.v.Spec.MaxReplicas < *hpa.v.Spec.MinReplicas) {
			r.fail("hpa", hpa.obj, "spec.maxReplicas", "must be at least minReplicas and 2")
		}
		if len(hpa.v.Spec.Metrics) == 0 {
			r.fail("hpa", hpa.obj, "spec.metrics", "no metric to scale on")
		}
		if spec.Replicas != nil {
			r.fail("hpa", o, "spec.replicas", "set while an HPA scales it: every upgrade would reset the replica count")
		}
	}

	// PDB: one whose selector picks these pods, and that allows evictions at all.
	var pdb *typed[policyv1.PodDisruptionBudget]
	for _, p := range r.pdbs {
		if p.v.Spec.Selector != nil && selectorMatches(p.v.Spec.Selector, spec.Template.Labels) {
			pdb = p
		}
	}
	if pdb == nil {
		r.fail("pdb", o, "(PodDisruptionBudget)", "no PodDisruptionBudget selects this Deployment's pods")
	} else if mu := pdb.v.Spec.MaxUnavailable; mu != nil && mu.String() == "0" {
		r.fail("pdb", pdb.obj, "spec.maxUnavailable", "0 blocks every node drain")
	}

	// NetworkPolicy: some policy with Ingress type selects these pods.
	var np *typed[networkingv1.NetworkPolicy]
	for _, n := range r.netpols {
		if selectorMatches(&n.v.Spec.PodSelector, spec.Template.Labels) && slices.Contains(n.v.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			np = n
		}
	}
	if np == nil {
		r.fail("network-policy", o, "(NetworkPolicy)", "no NetworkPolicy restricts ingress to these pods")
	}

	r.checkDaprPod(d)
	r.checkDatabaseEnv(o, base, pod)
	r.checkTelemetry(d)

	// Migrations: a pre-install/pre-upgrade hook Job runs this image's migrate step.
	app := spec.Template.Labels["app.kubernetes.io/name"]
	hasJob := false
	for _, j := range r.jobs {
		hook := j.obj.Map["metadata"].(map[string]any)["annotations"]
		h, _ := hook.(map[string]any)["helm.sh/hook"].(string)
		if j.v.Spec.Template.Labels["app.kubernetes.io/name"] == app && strings.Contains(h, "pre-install") && strings.Contains(h, "pre-upgrade") {
			hasJob = true
		}
	}
	if !hasJob {
		r.fail("migration-job", o, "(Job)", "no pre-install,pre-upgrade hook Job migrates %s's database", app)
	}
}

// checkInternalListener: /metrics and the detailed /readyz are served only on each app's internal
// listener (container port "internal"); the probes and the Prometheus scrape annotation must use it,
// never the public app port.
func (r *release) checkInternalListener(o *manifest.Object, tmpl *corev1.PodTemplateSpec) {
	base := "spec.template.spec"
	for i := range tmpl.Spec.Containers {
		c := &tmpl.Spec.Containers[i]
		cp := containerPath(base, c)
		internal := int32(0)
		for _, p := range c.Ports {
			if p.Name == "internal" {
				internal = p.ContainerPort
			}
		}
		if internal == 0 {
			r.fail("internal-listener", o, cp+".ports", "no port named \"internal\" (/metrics and the detailed /readyz)")
			continue
		}
		onInternal := func(g *corev1.HTTPGetAction) bool {
			return g != nil && (g.Port.String() == "internal" || g.Port.IntValue() == int(internal))
		}
		for name, probe := range map[string]*corev1.Probe{
			"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe,
		} {
			if probe != nil && !onInternal(probe.HTTPGet) {
				r.fail("internal-listener", o, cp+"."+name+".httpGet.port", "must be the internal listener (port \"internal\")")
			}
		}
		if port, ok := tmpl.Annotations["prometheus.io/port"]; ok && port != fmt.Sprint(internal) {
			r.fail("internal-listener", o, "spec.template.metadata.annotations[prometheus.io/port]",
				"%s is not the internal listener's port %d", port, internal)
		}
	}
}

func selectorMatches(sel *metav1.LabelSelector, lbls map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(lbls))
}

// checkPodSpec: probes (long-running pods only), resources, security context, images.
func (r *release) checkPodSpec(o *manifest.Object, base string, pod *corev1.PodSpec, longRunning bool) {
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	podNonRoot := psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	podSeccomp := psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		r.fail("security-context", o, base+".securityContext.runAsUser", "must not be 0 (root)")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		r.fail("security-context", o, base, "hostNetwork/hostPID/hostIPC must be off")
	}
	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for i := range all {
		c := &all[i]
		cp := containerPath(base, c)
		if longRunning && i >= len(pod.InitContainers) {
			if c.StartupProbe == nil {
				r.fail("probes", o, cp+".startupProbe", "missing")
			}
			if c.LivenessProbe == nil {
				r.fail("probes", o, cp+".livenessProbe", "missing")
			} else if g := c.LivenessProbe.HTTPGet; g == nil || g.Path != "/healthz" {
				r.fail("probes", o, cp+".livenessProbe.httpGet.path", "must be GET /healthz (alive, not dependent on the database or sidecar)")
			}
			if c.ReadinessProbe == nil {
				r.fail("probes", o, cp+".readinessProbe", "missing")
			} else if g := c.ReadinessProbe.HTTPGet; g == nil || g.Path != "/readyz" {
				r.fail("probes", o, cp+".readinessProbe.httpGet.path", "must be GET /readyz")
			}
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Limits[res]; !ok {
				r.fail("resources", o, cp+".resources.limits."+string(res), "missing")
			}
			if _, ok := c.Resources.Requests[res]; !ok {
				r.fail("resources", o, cp+".resources.requests."+string(res), "missing")
			}
		}
		if l, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			if q, ok2 := c.Resources.Requests[corev1.ResourceMemory]; ok2 && q.Cmp(l) > 0 {
				r.fail("resources", o, cp+".resources.requests.memory", "above the limit")
			}
		}
		sc := c.SecurityContext
		if sc == nil {
			r.fail("security-context", o, cp+".securityContext", "missing")
			continue
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			r.fail("security-context", o, cp+".securityContext.runAsNonRoot", "must be true (here or on the pod)")
		}
		if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			r.fail("security-context", o, cp+".securityContext.runAsNonRoot", "must not be false")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			r.fail("security-context", o, cp+".securityContext.runAsUser", "must not be 0 (root)")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			r.fail("security-context", o, cp+".securityContext.readOnlyRootFilesystem", "must be true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			r.fail("security-context", o, cp+".securityContext.allowPrivilegeEscalation", "must be false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			r.fail("security-context", o, cp+".securityContext.privileged", "must not be true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			r.fail("security-context", o, cp+".securityContext.capabilities.drop", "must drop ALL")
		} else if len(sc.Capabilities.Add) > 0 {
			r.fail("security-context", o, cp+".securityContext.capabilities.add", "must add none")
		}
		if !podSeccomp && (sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
			r.fail("security-context", o, cp+".securityContext.seccompProfile.type", "must be RuntimeDefault (here or on the pod)")
		}
		r.checkImage(o, cp+".image", c.Image)
	}
}

func (r *release) checkImage(o *manifest.Object, fieldPath, image string) {
	if strings.Contains(image, "@sha256:") {
		return
	}
	lastSlash := strings.LastIndex(image, "/")
	tagSep := strings.LastIndex(image, ":")
	if tagSep <= lastSlash {
		r.fail("image-ref", o, fieldPath, "%q has no tag or digest", image)
	} else if image[tagSep+1:] == "latest" {
		r.fail("image-ref", o, fieldPath, "%q: :latest is not a release", image)
	}
}

// checkEnvSecrets: a credential reaches a container only through a Secret reference.
func (r *release) checkEnvSecrets(o *manifest.Object, base string, pod *corev1.PodSpec) {
	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for i := range all {
		c := &all[i]
		for _, e := range c.Env {
			fp := fmt.Sprintf("%s.env[%s]", containerPath(base, c), e.Name)
			if e.ValueFrom != nil {
				if e.ValueFrom.ConfigMapKeyRef != nil && secretName.MatchString(e.Name) {
					r.fail("no-literal-secret", o, fp+".valueFrom.configMapKeyRef", "a credential must come from a Secret, not a ConfigMap")
				}
				continue
			}
			if secretName.MatchString(e.Name) && e.Value != "" {
				r.fail("no-literal-secret", o, fp+".value", "looks like a credential but is a literal value: use valueFrom.secretKeyRef")
			}
			if m := urlWithPassword.FindStringSubmatch(e.Value); m != nil && !isVarRef(m[1]) {
				r.fail("no-literal-secret", o, fp+".value", "URL with a literal password: take the password from a Secret ($(VAR) or secretKeyRef)")
			}
		}
	}
}

var varRef = regexp.MustCompile(`^\$\([A-Za-z_][A-Za-z0-9_]*\)$`)

func isVarRef(s string) bool { return varRef.MatchString(s) }

func (r *release) checkConfigMap(o *manifest.Object) {
	data, _ := o.Map["data"].(map[string]any)
	for k, v := range data {
		s, _ := v.(string)
		if secretName.MatchString(k) && s != "" {
			r.fail("no-literal-secret", o, "data."+k, "looks like a credential in a ConfigMap")
		}
		if m := urlWithPassword.FindStringSubmatch(s); m != nil && !isVarRef(m[1]) {
			r.fail("no-literal-secret", o, "data."+k, "URL with a literal password")
		}
	}
}

func envByName(pod *corev1.PodSpec, container string) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, c := range pod.Containers {
		if c.Name == container {
			for _, e := range c.Env {
				out[e.Name] = e
			}
		}
	}
	return out
}

// checkDatabaseEnv: the app goes through the pooler with a separate read URL; owner credentials stay in the Job.
func (r *release) checkDatabaseEnv(o *manifest.Object, base string, pod *corev1.PodSpec) {
	for _, c := range pod.Containers {
		env := envByName(pod, c.Name)
		fp := containerPath(base, &c) + ".env"
		if _, ok := env["DATABASE_MIGRATION_URL"]; ok {
			r.fail("database-urls", o, fp+"[DATABASE_MIGRATION_URL]", "owner credentials belong to the migration Job, not the long-running app")
		}
		db, hasDB := env["DATABASE_URL"]
		read, hasRead := env["DATABASE_READ_URL"]
		if !hasDB {
			r.fail("database-urls", o, fp+"[DATABASE_URL]", "missing")
		}
		if !hasRead {
			r.fail("database-urls", o, fp+"[DATABASE_READ_URL]", "missing (reads go to the replicas)")
		}
		if hasDB && hasRead && db.Value != "" && db.Value == read.Value {
			r.fail("database-urls", o, fp+"[DATABASE_READ_URL]", "same as DATABASE_URL: point it at the read replicas")
		}
	}
}

// The preload that starts OpenTelemetry before the app's modules load (packages/service-kit).
const telemetryPreload = "@wallet/service-kit/telemetry-preload"

var knownSamplers = map[string]bool{"always_on": true, "always_off": true, "traceidratio": true,
	"parentbased_always_on": true, "parentbased_always_off": true, "parentbased_traceidratio": true}

// checkTelemetry: every service starts OpenTelemetry the same way (docs/observability.md): the preload
// in NODE_OPTIONS (an overridden command cannot lose it), its app id as the service name, a valid
// sampler, and an OTLP/HTTP endpoint URL when one is set. Values are the effective ones (the last of
// duplicated names, as the kubelet applies them).
func (r *release) checkTelemetry(d *typed[appsv1.Deployment]) {
	o := d.obj
	env := envByName(&d.v.Spec.Template.Spec, "app")
	fp := "spec.template.spec.containers[app].env"
	preloaded := false
	for _, f := range strings.Fields(env["NODE_OPTIONS"].Value) {
		if f == "--import="+telemetryPreload {
			preloaded = true
		}
	}
	if !preloaded {
		r.fail("telemetry", o, fp+"[NODE_OPTIONS]", "must contain --import=%s: telemetry starts before the app's modules load", telemetryPreload)
	}
	if id := d.v.Spec.Template.Annotations["dapr.io/app-id"]; env["OTEL_SERVICE_NAME"].Value != id {
		r.fail("telemetry", o, fp+"[OTEL_SERVICE_NAME]", "%q, not the app id %q: traces name services by app id", env["OTEL_SERVICE_NAME"].Value, id)
	}
	sampler := env["OTEL_TRACES_SAMPLER"].Value
	if !knownSamplers[sampler] {
		r.fail("telemetry", o, fp+"[OTEL_TRACES_SAMPLER]", "%q is not a sampler the SDK knows", sampler)
	}
	if strings.HasSuffix(sampler, "traceidratio") {
		ratio, err := strconv.ParseFloat(env["OTEL_TRACES_SAMPLER_ARG"].Value, 64)
		if err != nil || ratio < 0 || ratio > 1 {
			r.fail("telemetry", o, fp+"[OTEL_TRACES_SAMPLER_ARG]", "%q: a ratio sampler needs a number from 0 to 1", env["OTEL_TRACES_SAMPLER_ARG"].Value)
		}
	}
	if e, ok := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; ok {
		u, err := url.Parse(e.Value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("telemetry", o, fp+"[OTEL_EXPORTER_OTLP_ENDPOINT]", "%q is not an http(s) URL of an OTLP/HTTP collector", e.Value)
		}
	}
}

// checkDaprPod: annotations of the sidecar injector on a Deployment's pod template.
func (r *release) checkDaprPod(d *typed[appsv1.Deployment]) {
	o := d.obj
	ann := d.v.Spec.Template.Annotations
	base := "spec.template.metadata.annotations"
	for k := range ann {
		if strings.HasPrefix(k, "dapr.io/") && !knownDaprAnnotations[k] {
			r.fail("dapr-annotations", o, base+"["+k+"]", "not an annotation the Dapr sidecar injector reads (typo?)")
		}
	}
	if ann["dapr.io/enabled"] != "true" {
		r.fail("dapr-annotations", o, base+"[dapr.io/enabled]", "must be \"true\": every service runs beside its sidecar")
		return
	}
	for _, k := range []string{"dapr.io/config", "dapr.io/api-token-secret",
		"dapr.io/sidecar-cpu-limit", "dapr.io/sidecar-memory-limit", "dapr.io/sidecar-cpu-request", "dapr.io/sidecar-memory-request", "dapr.io/log-as-json"} {
		if ann[k] == "" {
			r.fail("dapr-annotations", o, base+"["+k+"]", "missing")
		}
	}
	// An app channel (the sidecar calling the app) must be authenticated with the app token, and an
	// app that some Configuration lets others invoke needs one. Without a channel, no app token either.
	env := envByName(&d.v.Spec.Template.Spec, "app")
	_, hasAppToken := env["APP_API_TOKEN"]
	if ann["dapr.io/app-port"] != "" {
		if ann["dapr.io/app-token-secret"] == "" {
			r.fail("dapr-annotations", o, base+"[dapr.io/app-token-secret]", "missing: the sidecar must authenticate its calls into the app")
		}
		if !hasAppToken {
			r.fail("dapr-annotations", o, "spec.template.spec.containers[app].env[APP_API_TOKEN]", "missing: the app must check the sidecar's token")
		}
	} else {
		if ann["dapr.io/app-token-secret"] != "" || hasAppToken {
			r.fail("dapr-annotations", o, base+"[dapr.io/app-token-secret]", "an app token without an app channel (no dapr.io/app-port)")
		}
		if id := ann["dapr.io/app-id"]; r.invokable(id) {
			r.fail("dapr-annotations", o, base+"[dapr.io/app-port]", "missing: a Configuration lets other apps invoke %s", id)
		}
	}
	id := ann["dapr.io/app-id"]
	switch {
	case id == "":
		r.fail("dapr-app-id", o, base+"[dapr.io/app-id]", "missing")
	case !slices.Contains(AppIDs, id):
		r.fail("dapr-app-id", o, base+"[dapr.io/app-id]", "%q is not a service of the platform (%s)", id, strings.Join(AppIDs, ", "))
	case id != d.v.Spec.Template.Labels["app.kubernetes.io/name"]:
		r.fail("dapr-app-id", o, base+"[dapr.io/app-id]", "%q differs from the pod's app.kubernetes.io/name %q", id, d.v.Spec.Template.Labels["app.kubernetes.io/name"])
	}
	if port := ann["dapr.io/app-port"]; port != "" {
		match := false
		for _, c := range d.v.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				if fmt.Sprint(p.ContainerPort) == port {
					match = true
				}
			}
		}
		if !match {
			r.fail("dapr-annotations", o, base+"[dapr.io/app-port]", "%s is not a container port of the pod", port)
		}
	}
	if cfg := ann["dapr.io/config"]; cfg != "" {
		var found *manifest.Object
		for _, c := range r.dapr["Configuration"] {
			if c.Name == cfg {
				found = c
			}
		}
		if found == nil {
			r.fail("dapr-config", o, base+"[dapr.io/config]", "Configuration %q is not part of the release", cfg)
		}
	}
}

// invokable: some Configuration of the release names callers for this app id. Configurations are
// tied to apps through the dapr.io/config annotation of the app's Deployment.
func (r *release) invokable(id string) bool {
	for _, d := range r.deployments {
		ann := d.v.Spec.Template.Annotations
		if ann["dapr.io/app-id"] != id {
			continue
		}
		for _, c := range r.dapr["Configuration"] {
			if c.Name != ann["dapr.io/config"] {
				continue
			}
			spec, _ := c.Map["spec"].(map[string]any)
			ac, _ := spec["accessControl"].(map[string]any)
			if pols, _ := ac["policies"].([]any); len(pols) > 0 {
				return true
			}
		}
	}
	return false
}

// checkDapr: Components, Configurations, Resiliency.
func (r *release) checkDapr() {
	ids := map[string]bool{}
	for _, id := range AppIDs {
		ids[id] = true
	}
	checkScopes := func(o *manifest.Object) {
		scopes, _ := o.Map["scopes"].([]any)
		for i, s := range scopes {
			if str, _ := s.(string); !ids[str] {
				r.fail("dapr-scopes", o, fmt.Sprintf("scopes[%d]", i), "%v is not a service of the platform", s)
			}
		}
	}
	names := map[string]bool{}
	for _, c := range r.dapr["Component"] {
		names[c.Name] = true
		checkScopes(c)
		if s, _ := c.Map["scopes"].([]any); len(s) == 0 {
			r.fail("dapr-scopes", c, "scopes", "unscoped: every app in the namespace would load it")
		}
		spec, _ := c.Map["spec"].(map[string]any)
		items, _ := spec["metadata"].([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			name, _ := m["name"].(string)
			val, hasVal := m["value"]
			fp := fmt.Sprintf("spec.metadata[%s]", name)
			if name == "" {
				fp = fmt.Sprintf("spec.metadata[%d]", i)
			}
			s := fmt.Sprint(val)
			if hasVal && s != "" && secretName.MatchString(name) {
				r.fail("no-literal-secret", c, fp+".value", "looks like a credential but is a literal value: use secretKeyRef")
			}
			if hasVal && urlWithPassword.MatchString(s) {
				r.fail("no-literal-secret", c, fp+".value", "URL with a literal password: use secretKeyRef")
			}
		}
	}
	for _, want := range []string{"pubsub", "statestore"} {
		if !names[want] && len(r.deployments) > 0 {
			r.found = append(r.found, Finding{Rule: "dapr-config", Object: "Component/" + want, Field: "", Message: "missing: the services use the component named " + want})
		}
	}
	for _, c := range r.dapr["Configuration"] {
		spec, _ := c.Map["spec"].(map[string]any)
		// In Kubernetes mTLS is the control plane's setting; an app Configuration may only fail to turn it off.
		if mtls, ok := spec["mtls"].(map[string]any); ok && mtls["enabled"] == false {
			r.fail("dapr-config", c, "spec.mtls.enabled", "must not be false: the access control matches callers by their mTLS identity")
		}
		ac, _ := spec["accessControl"].(map[string]any)
		if ac == nil {
			r.fail("dapr-config", c, "spec.accessControl", "missing: invocation must be deny by default")
			continue
		}
		if ac["defaultAction"] != "deny" {
			r.fail("dapr-config", c, "spec.accessControl.defaultAction", "must be deny, is %v", ac["defaultAction"])
		}
		pols, _ := ac["policies"].([]any)
		for i, p := range pols {
			pm, _ := p.(map[string]any)
			if id, _ := pm["appId"].(string); !ids[id] {
				r.fail("dapr-app-id", c, fmt.Sprintf("spec.accessControl.policies[%d].appId", i), "%v is not a service of the platform", pm["appId"])
			}
		}
	}
	for _, res := range r.dapr["Resiliency"] {
		checkScopes(res)
		spec, _ := res.Map["spec"].(map[string]any)
		targets, _ := spec["targets"].(map[string]any)
		apps, _ := targets["apps"].(map[string]any)
		for id := range apps {
			if !ids[id] {
				r.fail("dapr-app-id", res, "spec.targets.apps."+id, "not a service of the platform")
			}
		}
	}
	for _, s := range r.dapr["Subscription"] {
		checkScopes(s)
	}
}

func (r *release) checkIngress() {
	for _, ing := range r.ingresses {
		if len(ing.v.Spec.TLS) == 0 {
			r.fail("ingress", ing.obj, "spec.tls", "missing: TLS terminates at the ingress")
		}
		for i, rule := range ing.v.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for j, p := range rule.HTTP.Paths {
				svc := p.Backend.Service
				if svc == nil {
					continue
				}
				ok := false
				for _, s := range r.services {
					if s.obj.Name == svc.Name && s.v.Spec.Selector["app.kubernetes.io/name"] == "api-gateway" {
						ok = true
					}
				}
				if !ok {
					r.fail("ingress", ing.obj, fmt.Sprintf("spec.rules[%d].http.paths[%d].backend.service.name", i, j), "%q: only the api-gateway is public", svc.Name)
				}
			}
		}
	}
}
