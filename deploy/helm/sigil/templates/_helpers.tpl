{{/* The name of every object of a release. */}}
{{- define "sigil.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sigil.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sigil.labels" -}}
{{ include "sigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sigil.secretName" -}}
{{- default (include "sigil.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Refuses configurations that cannot work. */}}
{{- define "sigil.validate" -}}
{{- if not .Values.config.issuer -}}
{{- fail "config.issuer is required: the public URL of Sigil, the iss of its tokens" -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.databaseURL -}}
{{- fail "secrets.databaseURL (or secrets.existingSecret) is required" -}}
{{- end -}}
{{- if and (hasPrefix "sqlite:" .Values.secrets.databaseURL) (gt (int .Values.replicaCount) 1) -}}
{{- fail "SQLite serves one instance only: use Postgres or replicaCount: 1" -}}
{{- end -}}
{{- if and (hasPrefix "postgres" .Values.secrets.databaseURL) (not .Values.secrets.keyEncryptionKey) -}}
{{- fail "secrets.keyEncryptionKey is required with Postgres" -}}
{{- end -}}
{{- end -}}
{{- end -}}
