{{/* Names, labels and the computed partition count of the STC chart. */}}

{{- define "stc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stc.labels" -}}
app.kubernetes.io/part-of: stc
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* One service's settings: serviceDefaults merged under services.<name>. Call with
     (dict "root" $ "name" "licensing"); returns YAML. */}}
{{- define "stc.svc" -}}
{{- $svc := index .root.Values.services .name | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $svc)) -}}
{{- end -}}

{{/* The most pods any service may run: partitions below it would leave consumers idle. */}}
{{- define "stc.maxReplicas" -}}
{{- $max := 1 -}}
{{- range $name, $_ := .Values.services -}}
{{- $s := include "stc.svc" (dict "root" $ "name" $name) | fromYaml -}}
{{- $n := int $s.replicas -}}
{{- if $s.autoscaling.enabled -}}{{- $n = int $s.autoscaling.maxReplicas -}}{{- end -}}
{{- if gt $n $max -}}{{- $max = $n -}}{{- end -}}
{{- end -}}
{{- $max -}}
{{- end -}}

{{- define "stc.partitions" -}}
{{- max (int .Values.topics.minPartitions) (int (include "stc.maxReplicas" .)) -}}
{{- end -}}

{{- define "stc.kafkaBootstrap" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap:9092" .Values.kafka.strimzi.clusterName -}}
{{- else if eq .Values.kafka.mode "external" -}}
{{- required "kafka.external.bootstrapServers is required" .Values.kafka.external.bootstrapServers -}}
{{- else -}}
{{- fail (printf "kafka.mode must be external or strimzi, not %q" .Values.kafka.mode) -}}
{{- end -}}
{{- end -}}

{{/* How gRPC clients in the cluster (the edge, the CLI, back-office systems) reach one
     service. headless: the headless Service, which resolves to every ready pod, so the client
     balances per call (Envoy STRICT_DNS, gRPC round_robin); clusterIP: the ClusterIP Service,
     one virtual address that kube-proxy balances per connection (for a service mesh that
     balances per request itself). Call with (dict "root" $ "name" "licensing"); returns
     host:port. */}}
{{- define "stc.grpcAddress" -}}
{{- $s := include "stc.svc" . | fromYaml -}}
{{- if eq .root.Values.grpcAddressing "headless" -}}
{{- printf "%s:%v" (include "stc.headlessName" .) $s.grpcPort -}}
{{- else if eq .root.Values.grpcAddressing "clusterIP" -}}
{{- printf "%s-%s:%v" (include "stc.fullname" .root) .name $s.grpcPort -}}
{{- else -}}
{{- fail (printf "grpcAddressing must be headless or clusterIP, not %q" .root.Values.grpcAddressing) -}}
{{- end -}}
{{- end -}}

{{/* The headless Service of one service: <fullname>-<service>-headless, the release part
     shortened so that the name stays a DNS label (63 characters at most). Call with
     (dict "root" $ "name" "licensing"). */}}
{{- define "stc.headlessName" -}}
{{- $room := sub 63 (len (printf "-%s-headless" .name)) | int -}}
{{- printf "%s-%s-headless" (include "stc.fullname" .root | trunc $room | trimSuffix "-") .name -}}
{{- end -}}

{{/* The four services, in the order the chart renders them (space-separated: use with
     `include "stc.serviceNames" $ | splitList " "`). */}}
{{- define "stc.serviceNames" -}}
licensing screening enduser credit
{{- end -}}
