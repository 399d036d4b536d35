{{/* Names: the release name when it already says oktasync, else release-oktasync. */}}
{{- define "oktasync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* CronJob names get 11 characters appended by the controller: stay at 52 or below. */}}
{{- define "oktasync.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "oktasync.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "oktasync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oktasync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oktasync.labels" -}}
{{ include "oktasync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: amundsen
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "oktasync.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The Secret with the credentials, read with envFrom. */}}
{{- define "oktasync.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "oktasync.fullname" .) -}}
{{- end -}}

{{- define "oktasync.hookSecretName" -}}
{{- printf "%s-hook" (include "oktasync.fullname" .) -}}
{{- end -}}

{{- define "oktasync.privateKeySecretName" -}}
{{- .Values.secrets.oktaPrivateKey.existingSecret | default (printf "%s-okta-key" (include "oktasync.fullname" .)) -}}
{{- end -}}

{{- define "oktasync.searchCASecretName" -}}
{{- .Values.secrets.searchCA.existingSecret | default (printf "%s-search-ca" (include "oktasync.fullname" .)) -}}
{{- end -}}

{{- define "oktasync.hasSearchCA" -}}
{{- if or .Values.secrets.searchCA.existingSecret .Values.secrets.searchCA.pem -}}true{{- end -}}
{{- end -}}

{{/* Where the search server's CA bundle is mounted (config.search.ca_file). */}}
{{- define "oktasync.searchCADir" -}}/etc/oktasync-search-ca{{- end -}}

{{/* The search server's port, from config.search.url ("" when off). */}}
{{- define "oktasync.searchPort" -}}
{{- $url := ((.Values.config | default dict).search | default dict).url | default "" -}}
{{- if $url -}}
{{- $u := urlParse $url -}}
{{- $port := regexFind ":[0-9]+$" $u.host | trimPrefix ":" -}}
{{- $port | default (ternary "443" "80" (eq $u.scheme "https")) -}}
{{- end -}}
{{- end -}}

{{- define "oktasync.hasPrivateKey" -}}
{{- if or .Values.secrets.oktaPrivateKey.existingSecret .Values.secrets.oktaPrivateKey.pem -}}true{{- end -}}
{{- end -}}

{{/*
The full sync's activeDeadlineSeconds from the rate-limit floor (README,
"CronJob deadlines"): requests = ceil(users / page_size) + 1; floor = requests
/ (limit x share x (1 - reserve)) minutes; deadline = 2 x floor + 30 min,
rounded up to 5 minutes.
*/}}
{{- define "oktasync.fullDeadline" -}}
{{- if kindIs "invalid" .Values.cronJobs.full.activeDeadlineSeconds -}}
{{- $okta := .Values.config.okta | default dict -}}
{{- $page := int ($okta.page_size | default 200) -}}
{{- $reserve := 0.1 -}}
{{- if hasKey $okta "rate_limit_reserve" }}{{ $reserve = $okta.rate_limit_reserve | float64 }}{{ end -}}
{{- $users := int .Values.deadlines.expectedUsers -}}
{{- $requests := add (div (add $users (sub $page 1)) $page) 1 -}}
{{- $perMinute := mulf .Values.deadlines.listRequestsPerMinute .Values.deadlines.tokenShare (subf 1 $reserve) -}}
{{- $floorSeconds := divf (mul $requests 60) $perMinute -}}
{{- $deadline := addf (mulf 2 $floorSeconds) 1800 -}}
{{- mul (ceil (divf $deadline 300) | int) 300 -}}
{{- else -}}
{{- .Values.cronJobs.full.activeDeadlineSeconds | int -}}
{{- end -}}
{{- end -}}

{{/*
The config file: the values' config, with serve's schedules off when the
CronJobs run, and search.ca_file pointing at the mounted secrets.searchCA.
*/}}
{{- define "oktasync.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- /* Neo4j's own default user when a password may be given (secrets.neo4jPassword, or
NEO4J_PASSWORD in secrets.existingSecret): oktasync refuses a password without a
user. An explicit config.neo4j.username stays; NEO4J_USERNAME in the Secret wins over both. */ -}}
{{- if or .Values.secrets.neo4jPassword .Values.secrets.existingSecret -}}
{{- $neo4j := get $cfg "neo4j" | default dict -}}
{{- if not (hasKey $neo4j "username") -}}
{{- $_ := set $neo4j "username" "neo4j" -}}
{{- $_ := set $cfg "neo4j" $neo4j -}}
{{- end -}}
{{- end -}}
{{- if include "oktasync.hasSearchCA" . -}}
{{- $search := get $cfg "search" | default dict -}}
{{- $_ := set $search "ca_file" (printf "%s/%s" (include "oktasync.searchCADir" .) .Values.secrets.searchCA.key) -}}
{{- $_ := set $cfg "search" $search -}}
{{- end -}}
{{- if and .Values.serve.enabled .Values.cronJobs.enabled -}}
{{- $serve := get $cfg "serve" | default dict -}}
{{- $_ := set $serve "schedule" (dict "incremental" "off" "full" "off" "at_start" "none") -}}
{{- $_ := set $cfg "serve" $serve -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
The pod spec shared by the CronJobs and the Deployment. Call with
(dict "root" $ "args" (list ...) "component" "..." "serve" bool).
*/}}
{{- define "oktasync.podSpec" -}}
{{- $root := .root -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
# No Service environment variables (…_SERVICE_HOST) in the container.
enableServiceLinks: false
{{- if .serve }}
terminationGracePeriodSeconds: {{ $root.Values.serve.terminationGracePeriodSeconds }}
{{- else }}
restartPolicy: Never
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: oktasync
    image: {{ include "oktasync.image" $root }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    {{- if .serve }}
    ports:
      - name: http
        containerPort: {{ $root.Values.serve.port }}
        protocol: TCP
    {{- end }}
    envFrom:
      - secretRef:
          name: {{ include "oktasync.secretName" $root }}
      {{- if and .serve (not $root.Values.secrets.existingSecret) }}
      - secretRef:
          name: {{ include "oktasync.hookSecretName" $root }}
      {{- end }}
    {{- $env := list -}}
    {{- if include "oktasync.hasPrivateKey" $root }}
    {{- $env = append $env (dict "name" "OKTA_PRIVATE_KEY_FILE" "value" (printf "/var/run/secrets/oktasync/%s" $root.Values.secrets.oktaPrivateKey.key)) }}
    {{- end }}
    {{- if and (not .serve) $root.Values.metrics.pushgateway.url }}
    {{- $env = append $env (dict "name" "OKTASYNC_PUSHGATEWAY_URL" "value" $root.Values.metrics.pushgateway.url) }}
    {{- end }}
    {{- with $env }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if .serve }}
    # Up to 60 s to start listening before liveness checks begin.
    startupProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 2
      timeoutSeconds: 2
      failureThreshold: 30
    # The process only: an Okta or Neo4j outage never restarts the pod.
    livenessProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 10
      timeoutSeconds: 2
      failureThreshold: 3
    # Neo4j reachable and Okta credentials valid.
    readinessProbe:
      httpGet:
        path: /readyz
        port: http
      periodSeconds: 15
      timeoutSeconds: 5
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml $root.Values.resources | nindent 6 }}
    securityContext:
      runAsNonRoot: true
      runAsUser: 65532
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
      - name: config
        mountPath: /etc/oktasync
        readOnly: true
      {{- if include "oktasync.hasPrivateKey" $root }}
      - name: okta-key
        mountPath: /var/run/secrets/oktasync
        readOnly: true
      {{- end }}
      {{- if include "oktasync.hasSearchCA" $root }}
      - name: search-ca
        mountPath: {{ include "oktasync.searchCADir" $root }}
        readOnly: true
      {{- end }}
      # The manager spool ($TMPDIR).
      - name: tmp
        mountPath: /tmp
volumes:
  - name: config
    configMap:
      name: {{ include "oktasync.fullname" $root }}
  {{- if include "oktasync.hasPrivateKey" $root }}
  - name: okta-key
    secret:
      secretName: {{ include "oktasync.privateKeySecretName" $root }}
      defaultMode: 0440
      items:
        - key: {{ $root.Values.secrets.oktaPrivateKey.key }}
          path: {{ $root.Values.secrets.oktaPrivateKey.key }}
  {{- end }}
  {{- if include "oktasync.hasSearchCA" $root }}
  - name: search-ca
    secret:
      secretName: {{ include "oktasync.searchCASecretName" $root }}
      defaultMode: 0440
      items:
        - key: {{ $root.Values.secrets.searchCA.key }}
          path: {{ $root.Values.secrets.searchCA.key }}
  {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ $root.Values.tmpSizeLimit }}
{{- end -}}

{{- define "oktasync.hookPath" -}}
{{- $serve := (.Values.config | default dict).serve | default dict -}}
{{- $serve.hook_path | default "/okta/events" -}}
{{- end -}}

{{/*
What every install needs, checked before anything renders: a `helm install`
with the default values fails here, with what to set, instead of creating
CronJobs that can never succeed. With secrets.existingSecret the chart cannot
see the credentials (nor OKTA_ORG_URL, which that Secret may hold).
*/}}
{{- define "oktasync.validate" -}}
{{- $secrets := .Values.secrets -}}
{{- if or (not .Values.image.repository) (eq .Values.image.repository "ghcr.io/oktasync/oktasync") -}}
{{- fail (printf "oktasync: image.repository is %s: there is no public oktasync image. Build the repository's Dockerfile and push it to your registry (docker build --build-arg VERSION=%s -t registry.example.com/oktasync:%s . && docker push registry.example.com/oktasync:%s), then set image.repository=registry.example.com/oktasync and image.tag=%s; see the chart's README" (ternary "not set" "the documentation's placeholder ghcr.io/oktasync/oktasync" (not .Values.image.repository)) .Chart.AppVersion .Chart.AppVersion .Chart.AppVersion .Chart.AppVersion) -}}
{{- end -}}
{{- $okta := (.Values.config | default dict).okta | default dict -}}
{{- if not $secrets.existingSecret -}}
{{- if not (or $secrets.oktaApiToken (include "oktasync.hasPrivateKey" .)) -}}
{{- fail "oktasync: no Okta credentials: set secrets.existingSecret (a Secret with OKTA_API_TOKEN, NEO4J_PASSWORD, ...), secrets.oktaApiToken, or an OAuth service app (secrets.oktaPrivateKey and config.okta.client_id); see ci/default-values.yaml for the least a values file needs" -}}
{{- end -}}
{{- if not $okta.org_url -}}
{{- fail "oktasync: config.okta.org_url is not set (e.g. https://acme.okta.com), and there is no secrets.existingSecret that could hold OKTA_ORG_URL" -}}
{{- end -}}
{{- end -}}
{{- if and $secrets.searchPassword (not $secrets.searchUsername) (not $secrets.existingSecret) -}}
{{- fail "oktasync: secrets.searchPassword is set but secrets.searchUsername is not: people search's basic auth needs both" -}}
{{- end -}}
{{- if and (include "oktasync.hasPrivateKey" .) (not $okta.client_id) (not $secrets.existingSecret) -}}
{{- fail "oktasync: secrets.oktaPrivateKey is set but config.okta.client_id is not: a service app needs its client id" -}}
{{- end -}}
{{- end -}}
