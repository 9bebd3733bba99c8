package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time (-ldflags "-X main.version=v1.2.3"); otherwise the module's
// version or VCS revision from the build info is shown.
var version = ""

// versionString is what 'starter -version' prints: this build, and the Temporal SDK it speaks
// with, which is what an operator needs when a server upgrade is planned.
func versionString() string {
	v, sdk := version, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " (" + s.Value[:12] + ")"
				}
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "go.temporal.io/sdk" {
				sdk = d.Version
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("starter %s, Temporal Go SDK %s, %s", v, sdk, runtime.Version())
}
