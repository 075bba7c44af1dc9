// Package deploy holds the tests of Sigil's deployment files: the Helm
// chart under helm/sigil is rendered with Helm's Go module and every object
// strictly decoded into the Kubernetes API types; the Prometheus rules and
// Grafana dashboard are checked against a real Sigil's /metrics. It is a
// module of its own so that Sigil's module does not depend on Helm.
package deploy
