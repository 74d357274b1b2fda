{{/* Release-scoped name prefix, at most 40 characters so "<prefix>-wallet-ledger-migrate" fits 63. */}}
{{- define "wallet.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of one service's objects. Call with (dict "root" $ "app" "identity"). */}}
{{- define "wallet.name" -}}
{{- printf "%s-%s" (include "wallet.fullname" .root) .app -}}
{{- end -}}

{{- define "wallet.chartLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: wallet-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Labels of objects shared by all services (Dapr components, Resiliency). */}}
{{- define "wallet.commonLabels" -}}
{{ include "wallet.chartLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one service (stable across upgrades). */}}
{{- define "wallet.selectorLabels" -}}
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "wallet.labels" -}}
{{ include "wallet.chartLabels" .root }}
{{ include "wallet.selectorLabels" . }}
app.kubernetes.io/component: {{ .component | default "service" }}
{{- end -}}

{{/* Image reference of one service. */}}
{{- define "wallet.image" -}}
{{- $img := .root.Values.image -}}
{{- $svcImg := .svc.image | default dict -}}
{{- $repo := $svcImg.repository | default (printf "%s/%s/%s" $img.registry $img.repositoryPrefix .app) -}}
{{- $tag := $svcImg.tag | default $img.tag | default .root.Chart.AppVersion -}}
{{- if $svcImg.digest -}}
{{- printf "%s@%s" $repo $svcImg.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* postgres:// URL with the password taken from an earlier env var by $(VAR) expansion. */}}
{{- define "wallet.dbUrl" -}}
{{- $q := ternary (printf "?%s" .target.params) "" (not (empty .target.params)) -}}
{{- printf "postgres://%s:$(%s)@%s:%v/%s%s" .user .passwordVar .target.host .target.port .db $q -}}
{{- end -}}

{{/* A secret reference rendered as an env var. Call with (dict "name" "X" "ref" $ref). */}}
{{- define "wallet.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.secret }}
      key: {{ .ref.key }}
{{- end -}}

{{/* Environment shared by a service's Deployment (runtime) and its migration Job. */}}
{{- define "wallet.baseEnv" -}}
{{- $v := .root.Values -}}
- name: APP_ENV
  value: {{ $v.appEnv | quote }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: NODE_ENV
  value: "production"
{{- end -}}

{{/*
Telemetry of a service's container, the same for every service (docs/observability.md): the preload
starts OpenTelemetry before the app's modules load (also in the image's CMD; NODE_OPTIONS keeps it when
a Deployment overrides the command), the service name, the sampler (parent-based: a request already
sampled upstream stays sampled; the ratio defaults to the sidecars' dapr.tracing.samplingRate), and
the OTLP/HTTP endpoint when one is set. scripts/verify-chart.sh checks every Deployment has it.
*/}}
{{- define "wallet.telemetryEnv" -}}
{{- $v := .root.Values -}}
- name: NODE_OPTIONS
  value: "--import=@wallet/service-kit/telemetry-preload"
- name: OTEL_SERVICE_NAME
  value: {{ .app | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $v.otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $v.otel.samplingRatio | default $v.dapr.tracing.samplingRate | quote }}
{{- with $v.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level hardening shared by Deployments and Jobs. */}}
{{- define "wallet.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "wallet.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{/* Enabled services, in a stable order, as a list of app ids. */}}
{{- define "wallet.enabledApps" -}}
{{- $out := list -}}
{{- range $app, $svc := .Values.services -}}
{{- if $svc.enabled -}}{{- $out = append $out $app -}}{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
