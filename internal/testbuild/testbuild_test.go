package testbuild

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFlagsMatchBuild checks Flags against the tags this test was built
// with (purego_test.go and notpurego_test.go set the expectation).
func TestFlagsMatchBuild(t *testing.T) {
	hasTag := false
	for _, s := range Flags() {
		if tags, ok := strings.CutPrefix(s, "-tags="); ok && slices.Contains(strings.Split(tags, ","), "purego") {
			hasTag = true
		}
	}
	require.Equal(t, puregoBuild, hasTag, "%q", Flags())
	a := BuildArgs("x")
	require.Equal(t, []string{"-o", "x", "."}, a[len(a)-3:])
}
