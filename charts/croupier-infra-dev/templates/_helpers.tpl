{{- define "croupier-infra-dev.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: croupier
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The admin password of a component: the one given in values, else the one in
the existing Secret (so upgrades keep it), else a new random one.
Call with (dict "root" $ "auth" .Values.<component>.auth).
*/}}
{{- define "croupier-infra-dev.password" -}}
{{- if .auth.password -}}
{{- .auth.password -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .auth.secretName -}}
{{- if and $existing $existing.data (hasKey $existing.data "password") -}}
{{- index $existing.data "password" | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Secret keys the operator reads (username, password); the servers read the same Secret. */}}
{{- define "croupier-infra-dev.adminSecret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .auth.secretName }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "croupier-infra-dev.labels" .root | nindent 4 }}
    app.kubernetes.io/name: {{ .name }}
  annotations:
    # With persistence on, the data outlives `helm uninstall`, and RabbitMQ and
    # PostgreSQL read their admin password only when the data directory is new.
    # Keeping the Secret lets a reinstall find the same password again.
    helm.sh/resource-policy: keep
type: Opaque
data:
  username: {{ .auth.username | b64enc | quote }}
  password: {{ include "croupier-infra-dev.password" . | b64enc | quote }}
{{- end -}}

{{/* Pod-level security shared by the three servers: the official images' uid 999. */}}
{{- define "croupier-infra-dev.podSecurity" -}}
runAsNonRoot: true
runAsUser: 999
runAsGroup: 999
fsGroup: 999
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{- define "croupier-infra-dev.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities: { drop: [ALL] }
{{- end -}}

{{/* volumeClaimTemplates when persistence is on; the data volume is an emptyDir otherwise. */}}
{{- define "croupier-infra-dev.claims" -}}
{{- if .persistence.enabled }}
volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      {{- with .persistence.storageClass }}
      storageClassName: {{ . }}
      {{- end }}
      resources:
        requests:
          storage: {{ .persistence.size }}
{{- end }}
{{- end -}}

{{- define "croupier-infra-dev.dataVolume" -}}
{{- if not .persistence.enabled }}
- name: data
  emptyDir: {}
{{- end }}
{{- end -}}
