package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// runVersion prints what the binary was built from, as the Go toolchain recorded it.
func runVersion(ctx context.Context, e *env, args []string) error {
	fs := flags("version", "", "print the module version, commit and Go version")
	if err := parse(fs, e, args); err != nil {
		return err
	}
	_, err := fmt.Fprintln(e.stdout, versionLine())
	return err
}

// versionLine reads the build info: module version ("(devel)" for a local build), the VCS
// commit and whether the tree was modified (stamped by `go build` in a checkout; `go run` and
// tests carry none), and the Go version.
func versionLine() string {
	version, commit, modified, goVersion := "unknown", "unknown", "", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	return fmt.Sprintf("gokart %s, commit %s%s, %s", version, commit, modified, goVersion)
}
