{{/*
Helpers. The claimgate.sidecar.* and claimgate.config helpers use only .Values and .Release, so a
parent chart can call them with (dict "Values" .Values.claimgate "Release" .Release).
*/}}

{{- define "claimgate.name" -}}
{{- default "claimgate" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "claimgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "claimgate.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "claimgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "claimgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "claimgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "claimgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The claimgate config file: .Values.config plus listen/admin from .Values.ports, upstreams, providers, routes. */}}
{{- define "claimgate.config" -}}
{{- $c := omit .Values.config "listen" "admin" "upstreams" "providers" "routes" -}}
{{- $_ := set $c "listen" (printf "0.0.0.0:%d" (int .Values.ports.http)) -}}
{{- $_ := set $c "admin" (printf "0.0.0.0:%d" (int .Values.ports.admin)) -}}
{{- $_ := set $c "upstreams" (required "upstreams: at least one upstream is required" .Values.upstreams) -}}
{{- if .Values.providers -}}
{{- $_ := set $c "providers" .Values.providers -}}
{{- end -}}
{{- $_ := set $c "routes" (required "routes: at least one route is required" .Values.routes) -}}
{{- toYaml $c -}}
{{- end -}}

{{/* The claimgate container, for this chart's Deployment and for a parent chart's pods. */}}
{{- define "claimgate.sidecar.container" -}}
- name: claimgate
  image: {{ printf "%s:%s" (required "image.repository is required" .Values.image.repository) (required "image.tag is required" .Values.image.tag) | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["--config", "/etc/claimgate/config.yaml"]
  ports:
    - name: http
      containerPort: {{ int .Values.ports.http }}
      protocol: TCP
    - name: admin
      containerPort: {{ int .Values.ports.admin }}
      protocol: TCP
  livenessProbe:
    httpGet:
      path: /healthz
      port: admin
    periodSeconds: 10
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: admin
    periodSeconds: 5
    failureThreshold: 2
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: claimgate-config
      mountPath: /etc/claimgate
      readOnly: true
{{- end -}}

{{/* The volume the container mounts: this chart's ConfigMap. */}}
{{- define "claimgate.sidecar.volume" -}}
- name: claimgate-config
  configMap:
    name: {{ include "claimgate.fullname" . }}
{{- end -}}

{{/* Pod annotations: config checksum (rolls pods on config change) and Prometheus scraping. */}}
{{- define "claimgate.sidecar.podAnnotations" -}}
checksum/claimgate-config: {{ include "claimgate.config" . | sha256sum }}
{{- if .Values.prometheusAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.ports.admin | toString | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}
