package policy

// minimalRelease is the smallest release the policy accepts: one service (risk) with everything
// it asks for. The cases in policy_test.go break it one line at a time. (Kept in Go, not in a
// .yaml file, so that a formatter never rewrites the lines the cases look for.)
const minimalRelease = `apiVersion: apps/v1
kind: Deployment
metadata: {name: w-risk}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: risk, app.kubernetes.io/instance: w}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: risk, app.kubernetes.io/instance: w}
      annotations:
        dapr.io/enabled: "true"
        dapr.io/app-id: "risk"
        dapr.io/app-port: "3103"
        dapr.io/config: "w-risk-dapr"
        dapr.io/api-token-secret: "dapr-api"
        dapr.io/app-token-secret: "app-api"
        dapr.io/sidecar-cpu-request: "50m"
        dapr.io/sidecar-memory-request: "64Mi"
        dapr.io/sidecar-cpu-limit: "500m"
        dapr.io/sidecar-memory-limit: "256Mi"
        dapr.io/log-as-json: "true"
        prometheus.io/port: "9091"
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
           labelSelector: {matchLabels: {app.kubernetes.io/name: risk, app.kubernetes.io/instance: w}}}
      containers:
        - name: app
          image: registry.example.com/wallet-platform/risk:1.0.0
          ports: [{name: http, containerPort: 3103}, {name: internal, containerPort: 9091}]
          env:
            - {name: DATABASE_PASSWORD, valueFrom: {secretKeyRef: {name: risk-db, key: password}}}
            - {name: DATABASE_URL, value: "postgres://svc_risk:$(DATABASE_PASSWORD)@pgbouncer:6432/wallet_risk"}
            - {name: DATABASE_READ_URL, value: "postgres://svc_risk:$(DATABASE_PASSWORD)@replica:6432/wallet_risk"}
            - {name: APP_API_TOKEN, valueFrom: {secretKeyRef: {name: app-api, key: token}}}
            - {name: LOG_LEVEL, value: info}
            - {name: NODE_OPTIONS, value: "--import=@wallet/service-kit/telemetry-preload"}
            - {name: OTEL_SERVICE_NAME, value: risk}
            - {name: OTEL_TRACES_SAMPLER, value: parentbased_traceidratio}
            - {name: OTEL_TRACES_SAMPLER_ARG, value: "0.1"}
            - {name: OTEL_EXPORTER_OTLP_ENDPOINT, value: "http://otel-collector.observability.svc:4318"}
          startupProbe: {httpGet: {path: /healthz, port: internal}}
          livenessProbe: {httpGet: {path: /healthz, port: internal}}
          readinessProbe: {httpGet: {path: /readyz, port: internal}}
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 256Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: w-risk}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: w-risk}
  minReplicas: 2
  maxReplicas: 4
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: w-risk}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app.kubernetes.io/name: risk, app.kubernetes.io/instance: w}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: w-risk}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: risk, app.kubernetes.io/instance: w}}
  policyTypes: [Ingress]
  ingress: []
---
apiVersion: batch/v1
kind: Job
metadata:
  name: w-risk-migrate
  annotations: {helm.sh/hook: "pre-install,pre-upgrade"}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: risk}}
    spec:
      restartPolicy: Never
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: migrate
          image: registry.example.com/wallet-platform/risk:1.0.0
          env:
            - {name: DATABASE_MIGRATION_PASSWORD, valueFrom: {secretKeyRef: {name: risk-db, key: migration-password}}}
            - {name: DATABASE_MIGRATION_URL, value: "postgres://owner:$(DATABASE_MIGRATION_PASSWORD)@primary:5432/wallet_risk"}
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 500m, memory: 256Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: w-risk-dapr}
spec:
  accessControl:
    defaultAction: deny
    policies: [{appId: api-gateway, defaultAction: allow}, {appId: wallet-ledger, defaultAction: allow}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.rabbitmq
  version: v1
  metadata:
    - {name: connectionString, secretKeyRef: {name: wallet-rabbitmq, key: connectionString}}
    - {name: durable, value: "true"}
scopes: [risk]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec:
  type: state.redis
  version: v1
  metadata:
    - {name: redisHost, secretKeyRef: {name: wallet-redis, key: host}}
    - {name: redisPassword, secretKeyRef: {name: wallet-redis, key: password}}
scopes: [risk]
`
