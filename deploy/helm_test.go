package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// scheme holds the built-in Kubernetes types the chart renders.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict decodes built-in objects rejecting unknown and duplicate fields.
var strict = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// render runs `helm template` in-process with the given values.
func render(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load("helm/sigil")
	if err != nil {
		t.Fatal(err)
	}
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals, common.ReleaseOptions{Name: "auth", Namespace: "identity", IsInstall: true, Revision: 1}, common.DefaultCapabilities, false)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Engine{Strict: true}.Render(ch, rv)
}

// objects splits the rendered manifests and decodes each one strictly.
func objects(t *testing.T, files map[string]string) map[string]runtime.Object {
	t.Helper()
	out := map[string]runtime.Object{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(files[name])))
		for {
			doc, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			var obj runtime.Object
			if meta.Kind == "ServiceMonitor" {
				obj = decodeServiceMonitor(t, doc)
			} else {
				gv, _ := schema.ParseGroupVersion(meta.APIVersion)
				if !scheme.Recognizes(gv.WithKind(meta.Kind)) {
					t.Fatalf("%s: %s %s is not a known Kubernetes type", name, meta.APIVersion, meta.Kind)
				}
				obj, _, err = strict.Decode(doc, nil, nil)
				if err != nil {
					t.Fatalf("%s: %v\n%s", name, err, doc)
				}
			}
			out[meta.Kind] = obj
		}
	}
	return out
}

var postgresValues = map[string]any{
	"config":  map[string]any{"issuer": "https://auth.example.com"},
	"secrets": map[string]any{"databaseURL": "postgres://sigil:pw@db:5432/sigil?sslmode=require", "keyEncryptionKey": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
}

func TestChartRendersValidObjects(t *testing.T) {
	files, err := render(t, postgresValues)
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, files)
	for _, k := range []string{"Deployment", "Service", "Secret", "PodDisruptionBudget"} {
		if objs[k] == nil {
			t.Fatalf("no %s rendered", k)
		}
	}
	if objs["ServiceMonitor"] != nil {
		t.Error("ServiceMonitor rendered although serviceMonitor.enabled is false")
	}
	d := objs["Deployment"].(*appsv1.Deployment)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %v, want several by default", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	secret := objs["Secret"].(*corev1.Secret)
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, k := range []string{"SIGIL_DATABASE_URL", "SIGIL_KEY_ENCRYPTION_KEY"} {
		e := env[k]
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secret.Name {
			t.Errorf("%s must come from Secret %s, got %+v", k, secret.Name, e)
		}
		if secret.StringData[k] == "" {
			t.Errorf("Secret has no %s", k)
		}
	}
	if env["SIGIL_ISSUER"].Value != "https://auth.example.com" {
		t.Errorf("SIGIL_ISSUER = %q", env["SIGIL_ISSUER"].Value)
	}
	if d.Spec.Template.Annotations["checksum/secret"] == "" {
		t.Error("no checksum/secret annotation: pods would not restart when the secret changes")
	}
	pdb := objs["PodDisruptionBudget"].(*policyv1.PodDisruptionBudget)
	if fmt.Sprint(pdb.Spec.Selector.MatchLabels) != fmt.Sprint(d.Spec.Selector.MatchLabels) {
		t.Errorf("PDB selects %v, Deployment %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
	svc := objs["Service"].(*corev1.Service)
	if fmt.Sprint(svc.Spec.Selector) != fmt.Sprint(d.Spec.Template.Labels) {
		t.Errorf("Service selects %v, pods are labelled %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
}

func TestChartServiceMonitorToggle(t *testing.T) {
	vals := map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}}}
	for k, v := range postgresValues {
		vals[k] = v
	}
	files, err := render(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	sm, ok := objects(t, files)["ServiceMonitor"].(*serviceMonitor)
	if !ok {
		t.Fatal("no ServiceMonitor rendered with serviceMonitor.enabled")
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Port != "http" {
		t.Errorf("endpoints %+v", sm.Spec.Endpoints)
	}
	if sm.Metadata.Labels["release"] != "prom" {
		t.Errorf("labels %v", sm.Metadata.Labels)
	}
}

func TestChartExistingSecret(t *testing.T) {
	files, err := render(t, map[string]any{
		"config":  map[string]any{"issuer": "https://auth.example.com"},
		"secrets": map[string]any{"existingSecret": "sigil-secrets"},
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, files)
	if objs["Secret"] != nil {
		t.Error("a Secret was rendered although existingSecret is set")
	}
	for _, e := range objs["Deployment"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "sigil-secrets" {
			t.Errorf("%s refers to %s", e.Name, e.ValueFrom.SecretKeyRef.Name)
		}
	}
}

func TestChartRefusesBadValues(t *testing.T) {
	cases := map[string]struct {
		vals map[string]any
		want string
	}{
		"no issuer":                             {map[string]any{"secrets": postgresValues["secrets"]}, "config.issuer is required"},
		"no database":                           {map[string]any{"config": postgresValues["config"]}, "secrets.databaseURL"},
		"sqlite with replicas":                  {map[string]any{"config": postgresValues["config"], "secrets": map[string]any{"databaseURL": "sqlite:/data/sigil.db"}}, "SQLite serves one instance only"},
		"postgres without a key-encryption key": {map[string]any{"config": postgresValues["config"], "secrets": map[string]any{"databaseURL": "postgres://db/sigil"}}, "keyEncryptionKey is required"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, c.vals)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}
