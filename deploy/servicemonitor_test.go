package deploy

import (
	"bytes"
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) that the chart writes. Its CRD schema is not
// part of Kubernetes, so it is decoded here with unknown fields refused.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func (s *serviceMonitor) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (s *serviceMonitor) DeepCopyObject() runtime.Object   { c := *s; return &c }

func decodeServiceMonitor(t *testing.T, doc []byte) *serviceMonitor {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var sm serviceMonitor
	if err := dec.Decode(&sm); err != nil {
		t.Fatalf("ServiceMonitor: %v\n%s", err, doc)
	}
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Name == "" || len(sm.Spec.Selector.MatchLabels) == 0 {
		t.Fatalf("ServiceMonitor incomplete: %+v", sm)
	}
	return &sm
}
