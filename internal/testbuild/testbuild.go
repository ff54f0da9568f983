// Package testbuild lets a test build a command the way the test itself
// was built, so that `go test -tags purego` (or -race) tests a binary
// with the same kernels and checks as the library it is compared with.
package testbuild

import (
	"runtime/debug"
	"strings"
)

// Flags returns the go build flags of the running binary that change what
// is compiled: -tags and -race.
func Flags() []string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var out []string
	for _, s := range bi.Settings {
		switch s.Key {
		case "-tags":
			if strings.TrimSpace(s.Value) != "" {
				out = append(out, "-tags="+s.Value)
			}
		case "-race":
			if s.Value == "true" {
				out = append(out, "-race")
			}
		}
	}
	return out
}

// BuildArgs returns the arguments of `go build` that writes the package
// in the current directory to out with Flags.
func BuildArgs(out string) []string {
	return append(append([]string{"build"}, Flags()...), "-o", out, ".")
}
