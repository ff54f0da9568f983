//go:build (amd64 && !purego) || arm64

package asm

// For the lints of the assembly sources (kernels_amd64_test.go,
// encoding_arm64_test.go).

import (
	"os"
	"path/filepath"
	"runtime"
)

// sourceDir is where the tests that read the package's source files (the
// assembly lints) find them: the working directory, as under go test, or
// else the directory this file was compiled from, so that a test binary run
// elsewhere (qemu-aarch64 /tmp/asm.arm64 from the repository root) finds
// them too.
func sourceDir() string {
	if _, err := os.Stat("kernels_test.go"); err == nil {
		return "."
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Dir(file)
}
