{{/* One Dapr component metadata item from a secret reference {secret, key}. */}}
{{- define "wallet.daprSecretItem" -}}
- name: {{ .name }}
  secretKeyRef:
    name: {{ .ref.secret }}
    key: {{ .ref.key }}
{{- end -}}

{{- define "wallet.daprValueItem" -}}
- name: {{ .name }}
  value: {{ .value | toString | quote }}
{{- end -}}
