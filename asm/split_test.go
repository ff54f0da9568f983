//go:build !purego && (amd64 || arm64)

package asm

import "testing"

// TestSplitting makes the call-size limits tiny so that every splitting path
// of the wrappers (column and row blocks, k blocks, the long-k unit update)
// runs on the ordinary test shapes.
func TestSplitting(t *testing.T) {
	savedStream, savedWork := maxStream, maxWork
	defer func() { maxStream, maxWork, simdOnly = savedStream, savedWork, false }()
	simdOnly = true // the generic tier does not split
	lims := [][2]int{{37, 300}, {1, 1}}
	if testing.Short() {
		lims = lims[:1]
	}
	for _, lim := range lims {
		maxStream, maxWork = lim[0], lim[1]
		t.Run("dot", TestDot)
		t.Run("axpy", TestAxpy)
		t.Run("clamp", TestClamp)
		t.Run("matVec", TestMatVec)
		t.Run("matTVec", TestMatTVec)
		if lim[1] > 1 { // {1, 1} makes the big products take too long
			t.Run("gemm", TestGemm)
			t.Run("gemmNT", TestGemmNT)
		}
		t.Run("unitUpdate", TestUnitUpdate)
		t.Run("sweep", TestSweep)
		t.Run("dot4x2", TestDot4x2)
	}
}
