{{/* The release's full name, at most 63 characters, as a label value allows. */}}
{{- define "croupier-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "croupier-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "croupier-operator.labels" -}}
{{ include "croupier-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: croupier
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "croupier-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "croupier-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "croupier-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The profiles file, with {{ .Release.Namespace }} and friends expanded. */}}
{{- define "croupier-operator.profiles" -}}
{{- tpl (toYaml .Values.infrastructure) . -}}
{{- end -}}

{{/* Sorted, de-duplicated names of the admin Secrets every profile refers to. */}}
{{- define "croupier-operator.adminSecrets" -}}
{{- $names := list -}}
{{- range $part, $profiles := .Values.infrastructure -}}
{{- range $name, $profile := $profiles -}}
{{- $names = append $names $profile.adminSecret -}}
{{- end -}}
{{- end -}}
{{- $names | uniq | sortAlpha | toJson -}}
{{- end -}}
