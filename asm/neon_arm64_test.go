//go:build !purego

package asm

// NEON-specific tests. The kernels themselves are tested on every tier,
// NEON included, by the common tests (kernels_test.go, sweep_test.go,
// fuzz_test.go, the guard pages of asm_test.go and the splitting of
// split_test.go); under qemu-aarch64 on an amd64 machine:
//
//	GOARCH=arm64 go test -c -o /tmp/asm.arm64 ./asm && qemu-aarch64 /tmp/asm.arm64

import (
	"os"
	"runtime"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/stretchr/testify/require"
)

// sweepBlocks: the blocked NEON sweep kernel, for the tests of split_test.go.
var sweepBlocks = sweepBlockKernel{tier: NEON, rows: 4, f: sweep4NEON}

func TestNEONSelected(t *testing.T) {
	require.Contains(t, Available(), NEON)
	require.Equal(t, NEON, Available()[0], "NEON must be the best arm64 tier")
	if os.Getenv(EnvVar) == "" {
		require.Equal(t, NEON, CurrentTier(), "default tier on arm64")
	}
	if runtime.GOOS == "linux" {
		// The tier does not depend on it, but the claim in tiers_arm64.go
		// that cpuid reports ASIMD (from HWCAP, also under qemu) is checked.
		require.True(t, cpuid.CPU.Supports(cpuid.ASIMD), "cpuid reports no ASIMD: %v", cpuid.CPU.FeatureSet())
	}
}

// TestNEONKernelsEmpty calls the NEON assembly directly (the wrappers never
// pass it empty sizes) with zero lengths and inner dimensions and nil
// operands: it must neither loop nor touch memory it was not given, and
// must give the reference's results (C = 0, or C unchanged with acc).
func TestNEONKernelsEmpty(t *testing.T) {
	require.Zero(t, dotNEON(nil, nil, 0))
	axpyNEON(2, nil, nil, 0)
	clampNEON(nil, 0, 0, 1)
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i + 1)
		}
		return v
	}
	for _, acc := range []bool{false, true} {
		for _, m := range []int{1, 3, 4, 5} {
			for _, n := range []int{1, 3, 4, 5, 16, 17} {
				want := fill(m * n)
				if !acc {
					clear(want)
				}
				rows := func(name string, four, one func(c *float32)) {
					c := fill(m * n)
					i := 0
					for ; i+4 <= m; i += 4 {
						four(&c[i*n])
					}
					for ; i < m; i++ {
						one(&c[i*n])
					}
					require.Equal(t, want, c, "%s %d×0·0×%d acc=%v", name, m, n, acc)
				}
				rows("gemm",
					func(c *float32) { gemm4NEON(c, nil, nil, 0, n, 0, n, n, acc) },
					func(c *float32) { gemm1NEON(c, nil, nil, 0, n, 0, n, n, acc) })
				rows("gemmNT",
					func(c *float32) { gemmNT4NEON(c, nil, nil, 0, n, 0, 0, n, acc) },
					func(c *float32) { gemmNT1NEON(c, nil, nil, 0, n, 0, 0, n, acc) })
				y := fill(m)
				matVecNEON(&y[0], nil, nil, m, 0, 0, acc)
				require.Equal(t, want[:m:m], y[:m:m], "matVec %d×0", m)
			}
		}
		y := []float32{1, 2, 3}
		matTVecNEON(&y[0], nil, nil, 0, 3, 3, acc)
		if acc {
			require.Equal(t, []float32{1, 2, 3}, y)
		} else {
			require.Equal(t, []float32{0, 0, 0}, y)
		}
	}
}
