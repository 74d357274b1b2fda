package policy

import (
	"strings"
	"testing"

	"wallet-platform/tools/helm/internal/manifest"
)

func load(t *testing.T, doc string) []*manifest.Object {
	t.Helper()
	objs, bad, err := manifest.Read("test.yaml", strings.NewReader(doc))
	if err != nil || len(bad) > 0 {
		t.Fatalf("fixture does not load: %v %v", err, bad)
	}
	return objs
}

func minimal(t *testing.T) string {
	t.Helper()
	return minimalRelease
}

func TestMinimalReleasePasses(t *testing.T) {
	if found := Check(load(t, minimal(t))); len(found) != 0 {
		t.Fatalf("expected no violations, got:\n%v", found)
	}
}

// Each case breaks the minimal release in one way; the policy must name the rule, object and field.
func TestEachRuleNamesObjectAndField(t *testing.T) {
	cases := []struct {
		name, old, new      string
		rule, object, field string
	}{
		{"readiness on the public port", "readinessProbe: {httpGet: {path: /readyz, port: internal}}", "readinessProbe: {httpGet: {path: /readyz, port: http}}",
			"internal-listener", "Deployment/w-risk", "spec.template.spec.containers[app].readinessProbe.httpGet.port"},
		{"metrics scraped on the public port", `prometheus.io/port: "9091"`, `prometheus.io/port: "3103"`,
			"internal-listener", "Deployment/w-risk", "spec.template.metadata.annotations[prometheus.io/port]"},
		{"no internal port", ", {name: internal, containerPort: 9091}]", "]",
			"internal-listener", "Deployment/w-risk", "spec.template.spec.containers[app].ports"},
		{"no readiness probe", "          readinessProbe: {httpGet: {path: /readyz, port: internal}}\n", "",
			"probes", "Deployment/w-risk", "spec.template.spec.containers[app].readinessProbe"},
		{"liveness on readyz", "livenessProbe: {httpGet: {path: /healthz", "livenessProbe: {httpGet: {path: /readyz",
			"probes", "Deployment/w-risk", "spec.template.spec.containers[app].livenessProbe.httpGet.path"},
		{"no memory limit", `limits: {cpu: "1", memory: 256Mi}`, `limits: {cpu: "1"}`,
			"resources", "Deployment/w-risk", "spec.template.spec.containers[app].resources.limits.memory"},
		{"writable root fs", "            readOnlyRootFilesystem: true", "            readOnlyRootFilesystem: false",
			"security-context", "Deployment/w-risk", "spec.template.spec.containers[app].securityContext.readOnlyRootFilesystem"},
		{"root user", "runAsNonRoot: true, runAsUser: 65532", "runAsNonRoot: true, runAsUser: 0",
			"security-context", "Deployment/w-risk", "spec.template.spec.securityContext.runAsUser"},
		{"no seccomp", "runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}", "runAsUser: 65532}",
			"security-context", "Deployment/w-risk", "spec.template.spec.containers[app].securityContext.seccompProfile.type"},
		{"one replica HPA", "minReplicas: 2", "minReplicas: 1",
			"hpa", "HorizontalPodAutoscaler/w-risk", "spec.minReplicas"},
		{"HPA on another deployment", "kind: Deployment, name: w-risk}", "kind: Deployment, name: w-other}",
			"hpa", "Deployment/w-risk", "(HorizontalPodAutoscaler)"},
		{"PDB selects nothing", "  maxUnavailable: 1\n  selector: {matchLabels: {app.kubernetes.io/name: risk", "  maxUnavailable: 1\n  selector: {matchLabels: {app.kubernetes.io/name: riskk",
			"pdb", "Deployment/w-risk", "(PodDisruptionBudget)"},
		{"no telemetry preload", `{name: NODE_OPTIONS, value: "--import=@wallet/service-kit/telemetry-preload"}`, `{name: NODE_OPTIONS, value: "--max-old-space-size=200"}`,
			"telemetry", "Deployment/w-risk", "spec.template.spec.containers[app].env[NODE_OPTIONS]"},
		{"service name not the app id", "{name: OTEL_SERVICE_NAME, value: risk}", "{name: OTEL_SERVICE_NAME, value: risk-engine}",
			"telemetry", "Deployment/w-risk", "spec.template.spec.containers[app].env[OTEL_SERVICE_NAME]"},
		{"ratio out of range", `{name: OTEL_TRACES_SAMPLER_ARG, value: "0.1"}`, `{name: OTEL_TRACES_SAMPLER_ARG, value: "10"}`,
			"telemetry", "Deployment/w-risk", "spec.template.spec.containers[app].env[OTEL_TRACES_SAMPLER_ARG]"},
		{"unknown sampler", "{name: OTEL_TRACES_SAMPLER, value: parentbased_traceidratio}", "{name: OTEL_TRACES_SAMPLER, value: sometimes}",
			"telemetry", "Deployment/w-risk", "spec.template.spec.containers[app].env[OTEL_TRACES_SAMPLER]"},
		{"collector without a scheme", `value: "http://otel-collector.observability.svc:4318"`, `value: "otel-collector:4318"`,
			"telemetry", "Deployment/w-risk", "spec.template.spec.containers[app].env[OTEL_EXPORTER_OTLP_ENDPOINT]"},
		{"maxUnavailable 1", "rollingUpdate: {maxSurge: 1, maxUnavailable: 0}", "rollingUpdate: {maxSurge: 1, maxUnavailable: 1}",
			"replicas-and-rollout", "Deployment/w-risk", "spec.strategy.rollingUpdate.maxUnavailable"},
		{"unknown app id", `dapr.io/app-id: "risk"`, `dapr.io/app-id: "risky"`,
			"dapr-app-id", "Deployment/w-risk", "spec.template.metadata.annotations[dapr.io/app-id]"},
		{"app id differs from the pod's name", `dapr.io/app-id: "risk"`, `dapr.io/app-id: "identity"`,
			"dapr-app-id", "Deployment/w-risk", "spec.template.metadata.annotations[dapr.io/app-id]"},
		{"annotation typo", `dapr.io/log-as-json: "true"`, `dapr.io/log-as-json: "true"` + "\n        dapr.io/app-prot: \"http\"",
			"dapr-annotations", "Deployment/w-risk", "spec.template.metadata.annotations[dapr.io/app-prot]"},
		{"ACL allows an unknown app", "{appId: wallet-ledger, defaultAction: allow}", "{appId: ledger, defaultAction: allow}",
			"dapr-app-id", "Configuration/w-risk-dapr", "spec.accessControl.policies[1].appId"},
		{"ACL allows by default", "    defaultAction: deny\n", "    defaultAction: allow\n",
			"dapr-config", "Configuration/w-risk-dapr", "spec.accessControl.defaultAction"},
		{"literal token in env", "            - {name: LOG_LEVEL, value: info}", "            - {name: DAPR_API_TOKEN, value: s3cr3t}",
			"no-literal-secret", "Deployment/w-risk", "spec.template.spec.containers[app].env[DAPR_API_TOKEN].value"},
		{"password inside a URL", "$(DATABASE_PASSWORD)@pgbouncer", "hunter2@pgbouncer",
			"no-literal-secret", "Deployment/w-risk", "spec.template.spec.containers[app].env[DATABASE_URL].value"},
		{"component password inline", "    - {name: redisPassword, secretKeyRef: {name: wallet-redis, key: password}}", "    - {name: redisPassword, value: hunter2}",
			"no-literal-secret", "Component/statestore", "spec.metadata[redisPassword].value"},
		{"owner URL in the app", "            - {name: LOG_LEVEL, value: info}", "            - {name: DATABASE_MIGRATION_URL, value: \"postgres://o:$(P)@primary/db\"}",
			"database-urls", "Deployment/w-risk", "spec.template.spec.containers[app].env[DATABASE_MIGRATION_URL]"},
		{"reads on the primary", "@replica:6432", "@pgbouncer:6432",
			"database-urls", "Deployment/w-risk", "spec.template.spec.containers[app].env[DATABASE_READ_URL]"},
		{"no migration hook", `helm.sh/hook: "pre-install,pre-upgrade"`, `helm.sh/hook: "post-install"`,
			"migration-job", "Deployment/w-risk", "(Job)"},
		{"latest image", "image: registry.example.com/wallet-platform/risk:1.0.0\n          ports", "image: registry.example.com/wallet-platform/risk:latest\n          ports",
			"image-ref", "Deployment/w-risk", "spec.template.spec.containers[app].image"},
		{"unscoped component", "    - {name: durable, value: \"true\"}\nscopes: [risk]", "    - {name: durable, value: \"true\"}\nscopes: [risk, fraud]",
			"dapr-scopes", "Component/pubsub", "scopes[1]"},
		{"invokable app without app channel", "        dapr.io/app-port: \"3103\"\n", "",
			"dapr-annotations", "Deployment/w-risk", "spec.template.metadata.annotations[dapr.io/app-port]"},
		{"app channel without app token", "        dapr.io/app-token-secret: \"app-api\"\n", "",
			"dapr-annotations", "Deployment/w-risk", "spec.template.metadata.annotations[dapr.io/app-token-secret]"},
		{"no network policy", "policyTypes: [Ingress]", "policyTypes: [Egress]",
			"network-policy", "Deployment/w-risk", "(NetworkPolicy)"},
	}
	base := minimal(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.old) {
				t.Fatalf("fixture has no %q", c.old)
			}
			found := Check(load(t, strings.Replace(base, c.old, c.new, 1)))
			for _, f := range found {
				if f.Rule == c.rule && f.Object == c.object && f.Field == c.field {
					return
				}
			}
			t.Fatalf("want [%s] %s %s, got:\n%v", c.rule, c.object, c.field, found)
		})
	}
}

func TestSecretWithDataIsRejected(t *testing.T) {
	doc := minimal(t) + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: leaked}\nstringData: {token: abc}\n"
	for _, f := range Check(load(t, doc)) {
		if f.Rule == "no-literal-secret" && f.Object == "Secret/leaked" && f.Field == "data" {
			return
		}
	}
	t.Fatal("a Secret with stringData was not reported")
}

func TestEmptyReleaseFails(t *testing.T) {
	if len(Check(nil)) == 0 {
		t.Fatal("a release without Deployments must not pass")
	}
}
