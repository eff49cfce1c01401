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

{{/*
The claimgate config file: .Values.config plus the listeners from .Values.ports and .Values.tls,
admin, upstreams, providers, routes. Without TLS: `listen` (one plain listener). With TLS:
`listeners`, the TLS one first, its files under the mounts of "claimgate.fileMounts".
*/}}
{{- define "claimgate.config" -}}
{{- include "claimgate.validate" . -}}
{{- $c := omit .Values.config "listen" "listeners" "admin" "upstreams" "providers" "routes" -}}
{{- $tls := .Values.tls -}}
{{- if $tls.enabled -}}
{{- $certificates := list (dict "cert_file" "/etc/claimgate/tls/tls.crt" "key_file" "/etc/claimgate/tls/tls.key") -}}
{{- range $tls.sniSecretNames -}}
{{- $certificates = append $certificates (dict "cert_file" (printf "/etc/claimgate/tls-sni/%s/tls.crt" .) "key_file" (printf "/etc/claimgate/tls-sni/%s/tls.key" .)) -}}
{{- end -}}
{{- $listenerTls := dict "certificates" $certificates "min_version" (toString $tls.minVersion) -}}
{{- if or $tls.clientCa.secretName $tls.clientCa.configMapName -}}
{{- $_ := set $listenerTls "client_ca_file" "/etc/claimgate/client-ca/ca.crt" -}}
{{- $_ := set $listenerTls "verify_client" $tls.clientCa.verifyClient -}}
{{- end -}}
{{- $listeners := list (dict "address" (printf "0.0.0.0:%d" (int .Values.ports.https)) "tls" $listenerTls) -}}
{{- if $tls.plainListener -}}
{{- $listeners = append $listeners (dict "address" (printf "0.0.0.0:%d" (int .Values.ports.http))) -}}
{{- end -}}
{{- $_ := set $c "listeners" $listeners -}}
{{- else -}}
{{- $_ := set $c "listen" (printf "0.0.0.0:%d" (int .Values.ports.http)) -}}
{{- end -}}
{{- $_ := set $c "admin" (printf "0.0.0.0:%d" (int .Values.ports.admin)) -}}
{{- $_ := set $c "upstreams" (required "upstreams: at least one upstream is required" .Values.upstreams) -}}
{{- if .Values.providers -}}
{{- $_ := set $c "providers" .Values.providers -}}
{{- end -}}
{{- $_ := set $c "routes" (required "routes: at least one route is required" .Values.routes) -}}
{{- toYaml $c -}}
{{- end -}}

{{/* Value combinations the config could not honour fail the render instead of being ignored. */}}
{{- define "claimgate.validate" -}}
{{- $tls := .Values.tls -}}
{{- if $tls.enabled -}}
{{- $_ := required "tls.secretName is required with tls.enabled (a kubernetes.io/tls Secret with tls.crt and tls.key)" $tls.secretName -}}
{{- if not (has (toString $tls.minVersion) (list "1.2" "1.3")) -}}
{{- fail (printf "tls.minVersion must be \"1.2\" or \"1.3\", not %v" $tls.minVersion) -}}
{{- end -}}
{{- if and $tls.clientCa.secretName $tls.clientCa.configMapName -}}
{{- fail "tls.clientCa: set secretName or configMapName, not both" -}}
{{- end -}}
{{- if not (has $tls.clientCa.verifyClient (list "required" "optional")) -}}
{{- fail (printf "tls.clientCa.verifyClient must be required or optional, not %v" $tls.clientCa.verifyClient) -}}
{{- end -}}
{{- if or (eq (int .Values.ports.https) (int .Values.ports.admin)) (and $tls.plainListener (eq (int .Values.ports.https) (int .Values.ports.http))) -}}
{{- fail "ports.https must differ from ports.admin and (with tls.plainListener) from ports.http" -}}
{{- end -}}
{{- else if or $tls.sniSecretNames $tls.clientCa.secretName $tls.clientCa.configMapName $tls.plainListener -}}
{{- fail "tls.sniSecretNames, tls.clientCa and tls.plainListener need tls.enabled: true" -}}
{{- end -}}
{{- if and .Values.upstreamCa.secretName .Values.upstreamCa.configMapName -}}
{{- fail "upstreamCa: set secretName or configMapName, not both" -}}
{{- end -}}
{{- range $name, $u := .Values.upstreams -}}
{{- if and $u (hasPrefix "/etc/claimgate/upstream-ca/" (toString $u.ca_file)) (not (or $.Values.upstreamCa.secretName $.Values.upstreamCa.configMapName)) -}}
{{- fail (printf "upstreams.%s.ca_file is under /etc/claimgate/upstream-ca/, which only upstreamCa.secretName or upstreamCa.configMapName mounts" $name) -}}
{{- end -}}
{{- if and $u (or (hasPrefix "/etc/claimgate/upstream-client/" (toString $u.client_cert_file)) (hasPrefix "/etc/claimgate/upstream-client/" (toString $u.client_key_file))) (not $.Values.upstreamClientCert.secretName) -}}
{{- fail (printf "upstreams.%s.client_cert_file/client_key_file are under /etc/claimgate/upstream-client/, which only upstreamClientCert.secretName mounts" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Read-only directory mounts next to the config, as {mounts: [{name, mountPath, <volume source>}]}:
the TLS Secret, SNI Secrets, the client CA, the upstream CA and the upstream client certificate.
Never subPath: the kubelet updates a Secret or ConfigMap volume by writing the new files into a
fresh directory and swapping the ..data symlink, which a subPath mount never sees. `items` name
the keys, so a Secret without them fails the mount instead of starting claimgate without a file.
The kubelet creates the mount points inside the (read-only) config volume at /etc/claimgate.
*/}}
{{- define "claimgate.fileMounts" -}}
{{- $tls := .Values.tls -}}
mounts:
{{- if $tls.enabled }}
  - name: claimgate-tls
    mountPath: /etc/claimgate/tls
    secret:
      secretName: {{ required "tls.secretName is required with tls.enabled (a kubernetes.io/tls Secret with tls.crt and tls.key)" $tls.secretName | quote }}
      items: [{ key: tls.crt, path: tls.crt }, { key: tls.key, path: tls.key }]
{{- range $i, $name := $tls.sniSecretNames }}
  - name: claimgate-tls-sni-{{ $i }}
    mountPath: /etc/claimgate/tls-sni/{{ $name }}
    secret:
      secretName: {{ $name | quote }}
      items: [{ key: tls.crt, path: tls.crt }, { key: tls.key, path: tls.key }]
{{- end }}
{{- with $tls.clientCa }}
{{- if or .secretName .configMapName }}
  - name: claimgate-client-ca
    mountPath: /etc/claimgate/client-ca
    {{- if .secretName }}
    secret:
      secretName: {{ .secretName | quote }}
    {{- else }}
    configMap:
      name: {{ .configMapName | quote }}
    {{- end }}
      items: [{ key: {{ required "tls.clientCa.key is required" .key | quote }}, path: ca.crt }]
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.upstreamCa }}
{{- if or .secretName .configMapName }}
  - name: claimgate-upstream-ca
    mountPath: /etc/claimgate/upstream-ca
    {{- if .secretName }}
    secret:
      secretName: {{ .secretName | quote }}
    {{- else }}
    configMap:
      name: {{ .configMapName | quote }}
    {{- end }}
      items: [{ key: {{ required "upstreamCa.key is required" .key | quote }}, path: ca.crt }]
{{- end }}
{{- end }}
{{- with .Values.upstreamClientCert.secretName }}
  - name: claimgate-upstream-client
    mountPath: /etc/claimgate/upstream-client
    secret:
      secretName: {{ . | quote }}
      items: [{ key: tls.crt, path: tls.crt }, { key: tls.key, path: tls.key }]
{{- end }}
{{- end -}}

{{/* The claimgate container, for this chart's Deployment and for a parent chart's pods. */}}
{{- define "claimgate.sidecar.container" -}}
- name: claimgate
  image: {{ printf "%s:%s" (required "image.repository is required" .Values.image.repository) (required "image.tag is required" .Values.image.tag) | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["--config", "/etc/claimgate/config.yaml"]
  ports:
    {{- if or (not .Values.tls.enabled) .Values.tls.plainListener }}
    - name: http
      containerPort: {{ int .Values.ports.http }}
      protocol: TCP
    {{- end }}
    {{- if .Values.tls.enabled }}
    - name: https
      containerPort: {{ int .Values.ports.https }}
      protocol: TCP
    {{- end }}
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
    {{- range (include "claimgate.fileMounts" . | fromYaml).mounts }}
    - name: {{ .name }}
      mountPath: {{ .mountPath }}
      readOnly: true
    {{- end }}
{{- end -}}

{{/* The volumes the container mounts: this chart's ConfigMap and the TLS Secrets/ConfigMaps. */}}
{{- define "claimgate.sidecar.volume" -}}
- name: claimgate-config
  configMap:
    name: {{ include "claimgate.fullname" . }}
{{- range (include "claimgate.fileMounts" . | fromYaml).mounts }}
- name: {{ .name }}
  {{- toYaml (omit . "name" "mountPath") | nindent 2 }}
{{- end }}
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
