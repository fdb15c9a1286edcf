{{/* Bitnami's common.names.fullname. Takes the root context; returns the name. */}}
{{- define "postgresql.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Bitnami's postgresql.v1.secretName: auth.existingSecret through tpl (the stand-in renders no Secret of its own). */}}
{{- define "postgresql.secretName" -}}
{{- tpl (required "the postgresql stand-in needs auth.existingSecret" .Values.auth.existingSecret) . -}}
{{- end -}}

{{- define "postgresql.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: primary
{{- end -}}
