package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/sigil-auth/sigil/keys"
)

// buildVersion is the module version of this binary, or "(devel)" with
// the VCS revision it was built from when it has one.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// runVersion prints the version, the Go release and the RS256 signing
// backend: "openssl" in a release build (make build, the Docker image),
// "go" when built without the openssl tag or without cgo.
func runVersion(_ context.Context, e env) error {
	if len(e.args) > 0 {
		return fmt.Errorf("version takes no arguments, got %q", e.args[0])
	}
	fmt.Fprintf(e.stdout, "sigil %s %s %s/%s\nRSA signing backend: %s (%s)\n",
		buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, keys.RSABackend(), keys.RSABackendVersion())
	return nil
}
