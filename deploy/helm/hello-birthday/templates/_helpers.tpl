{{/* Names and labels shared by every manifest. */}}

{{- define "hello-birthday.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hello-birthday.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hello-birthday.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hello-birthday.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hello-birthday.labels" -}}
{{ include "hello-birthday.selectorLabels" . }}
app.kubernetes.io/version: {{ include "hello-birthday.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "hello-birthday.serviceAccountName" -}}
{{- default (include "hello-birthday.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "hello-birthday.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "hello-birthday.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "hello-birthday.tag" .) -}}
{{- end -}}
{{- end -}}

{{/* The supervisor waits this long past HELLO_SHUTDOWN_TIMEOUT before it kills granian
     (_KILL_MARGIN_SECONDS in src/hello_birthday/server.py). */}}
{{- define "hello-birthday.killMarginSeconds" -}}5{{- end -}}

{{/* preStop + drain + shutdown + the kill margin, plus 2 s for the supervisor to exit: the
     longest a clean stop takes, so SIGKILL never cuts one short. */}}
{{- define "hello-birthday.terminationGracePeriodSeconds" -}}
{{- $c := .Values.config -}}
{{- add .Values.shutdown.preStopSeconds (ceil $c.drainSeconds) (ceil $c.shutdownTimeout) (include "hello-birthday.killMarginSeconds" .) 2 -}}
{{- end -}}

{{- define "hello-birthday.replicasAtLeast" -}}
{{- if .Values.autoscaling.enabled -}}{{ .Values.autoscaling.minReplicas }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}
