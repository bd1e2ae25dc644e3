{{/*
Chart name, truncated to 63 characters (the DNS-1123 label limit of object names).
*/}}
{{- define "replica-api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: "<release>-<chart>", or just the release name when it already
contains the chart name. Every object of the chart is named with it (deterministic, so an
external test can render one template and know the names of the objects it gets).
*/}}
{{- define "replica-api.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Namespace of the release's namespaced objects (the ServiceAccount the RBAC subjects name).
*/}}
{{- define "replica-api.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "replica-api.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
*/}}
{{- define "replica-api.labels" -}}
helm.sh/chart: {{ include "replica-api.chart" . }}
{{ include "replica-api.selectorLabels" . }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: replica-api
{{- end }}

{{/*
Selector labels: immutable on a Deployment, so nothing here may change between upgrades.
*/}}
{{- define "replica-api.selectorLabels" -}}
app.kubernetes.io/name: {{ include "replica-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount the pods run as and the RBAC bindings name as their subject.
*/}}
{{- define "replica-api.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "replica-api.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding tls.crt, tls.key and ca.crt.
*/}}
{{- define "replica-api.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "replica-api.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/*
Image reference: repository:tag, or repository@digest when a digest is pinned.
*/}}
{{- define "replica-api.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The enabled write operations (values operations) as JSON: the setting and the RBAC rules below
are both derived from this one list. No key at all (`helm upgrade --reuse-values` of a release
from before the value existed, or `--set operations=null`) means the default [scale], what such a
release did; only an explicit [] is read-only.
*/}}
{{- define "replica-api.operationsJson" -}}
{{- if hasKey .Values "operations" }}
{{- .Values.operations | default list | uniq | toJson }}
{{- else }}
{{- list "scale" | toJson }}
{{- end }}
{{- end }}

{{/*
OPERATIONS: the enabled operations comma-separated, or "none" for a read-only release (an empty
OPERATIONS would mean the service's default, scale).
*/}}
{{- define "replica-api.operations" -}}
{{- include "replica-api.operationsJson" . | fromJsonArray | join "," | default "none" }}
{{- end }}

{{/*
The RBAC rules of the Role (one per watched namespace) or the ClusterRole: the single source
of the service's permissions, and only what the enabled operations need (least privilege stays
the default: `operations: [scale]`). Never a wildcard, never update (a whole-object PUT could
overwrite what other controllers set), never delete.
*/}}
{{- define "replica-api.deploymentRules" -}}
{{- $ops := include "replica-api.operationsJson" . | fromJsonArray }}
{{- /* Every read comes from the informer cache (list+watch); get reads one Deployment back
  when a write needs the API server's current version. Needed even read-only. */ -}}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch"]
{{- if has "scale" $ops }}
{{- /* scale sets replicas with a merge PATCH of the scale subresource, read first with get.
  The subresource alone: it cannot change the pod template. */}}
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch"]
{{- end }}
{{- if or (has "restart" $ops) (has "pause" $ops) (has "undo" $ops) (has "image" $ops) }}
{{- /* restart (the template's restartedAt annotation), pause/resume (spec.paused), set image
  (a strategic merge patch of one container) and undo (a JSON patch of the template) patch the
  Deployment itself, each with a resourceVersion precondition. Patch only, not update. */}}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["patch"]
{{- end }}
{{- if has "undo" $ops }}
{{- /* undo and the revisions read: the ReplicaSets are a Deployment's revisions. list+watch
  feed the trimmed ReplicaSet informer (revisions read from the cache); get reads the target
  revision's template from the API server at the moment of the undo. Nothing else reads them,
  so without undo the service neither watches nor may read ReplicaSets. */}}
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- /* The reads show the HorizontalPodAutoscaler that manages a Deployment, and a scale that
  one would undo is refused (409): list+watch feed that index. Needed even read-only. */}}
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "watch"]
{{- if $ops }}
{{- /* Every write is recorded as an events.k8s.io Event on the Deployment ("who did it"), and
  the history read serves those Events back from an informer: create, plus list+watch (the
  service asks only for its own, by field selector reportingController). Never get, update or
  delete. A read-only release writes no Event, so it neither reads nor may read them. */}}
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "list", "watch"]
{{- end }}
{{- end }}

{{/*
Name of the ConfigMap holding the authorization policy, or "" when there is no policy.
*/}}
{{- define "replica-api.policyConfigMapName" -}}
{{- if .Values.authz.existingConfigMap }}
{{- .Values.authz.existingConfigMap }}
{{- else if .Values.authz.policy }}
{{- printf "%s-policy" (include "replica-api.fullname" .) }}
{{- end }}
{{- end }}

{{/*
TLS_CLIENT_CRL_FILE: the mounted CRL files of tls.clientCrl, comma-separated, or "" when no
CRL source is set. Fails when both a Secret and a ConfigMap are named.
*/}}
{{- define "replica-api.clientCrlFiles" -}}
{{- $crl := .Values.tls.clientCrl }}
{{- if and $crl.secretName $crl.configMapName }}
{{- fail "tls.clientCrl.secretName and tls.clientCrl.configMapName are both set: use one or the other" }}
{{- end }}
{{- if or $crl.secretName $crl.configMapName }}
{{- $files := list }}
{{- range $crl.keys | uniq }}{{ $files = append $files (printf "/etc/replica-api/crl/%s" .) }}{{ end }}
{{- join "," $files }}
{{- end }}
{{- end }}

{{/*
TLS_CLIENT_CA_FILE: ca.crt of the server's TLS Secret, or the bundle of tls.clientCa when it
names a Secret or ConfigMap (mounted at /etc/replica-api/client-ca).
*/}}
{{- define "replica-api.clientCaFile" -}}
{{- $ca := .Values.tls.clientCa }}
{{- if and $ca.secretName $ca.configMapName }}
{{- fail "tls.clientCa.secretName and tls.clientCa.configMapName are both set: use one or the other" }}
{{- end }}
{{- if or $ca.secretName $ca.configMapName }}
{{- printf "/etc/replica-api/client-ca/%s" $ca.key }}
{{- else }}
{{- print "/etc/replica-api/tls/ca.crt" }}
{{- end }}
{{- end }}

{{/*
issuerRef of every Certificate the chart renders: certManager.issuerRef with its defaults
(kind Issuer, group cert-manager.io), or the CA Issuer of the chart's own chain.
*/}}
{{- define "replica-api.certManagerIssuerRef" -}}
{{- with .Values.certManager.issuerRef }}
name: {{ .name }}
kind: {{ .kind | default "Issuer" }}
group: {{ .group | default "cert-manager.io" }}
{{- else }}
name: {{ include "replica-api.fullname" . }}-ca
kind: Issuer
group: cert-manager.io
{{- end }}
{{- end }}

{{/*
privateKey of every Certificate the chart renders: a new key at each issuance.
*/}}
{{- define "replica-api.certManagerPrivateKey" -}}
algorithm: {{ .Values.certManager.privateKey.algorithm }}
size: {{ .Values.certManager.privateKey.size }}
rotationPolicy: Always
{{- end }}

{{/*
Key usages besides the extended one: an RSA key may also encipher (TLS 1.2 RSA key exchange);
an ECDSA key only signs.
*/}}
{{- define "replica-api.certManagerKeyUsages" -}}
- digital signature
{{- if eq .Values.certManager.privateKey.algorithm "RSA" }}
- key encipherment
{{- end }}
{{- end }}
