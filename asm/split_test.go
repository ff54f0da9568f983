//go:build !purego && (amd64 || arm64)

package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

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
		t.Run("sparseAxpy", TestSparseAxpy)
		t.Run("nonzeros", TestNonzeros)
	}
}

// A sweepBlockKernel is an architecture's blocked sweep kernel (sweep8AVX2,
// sweep4NEON: rows i0 … i1−1, i0 a multiple of the block), its tier and its
// block of rows; the architecture's test file sets sweepBlocks.
type sweepBlockKernel struct {
	tier Tier
	rows int
	f    func(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)
}

// sweepBlocksCase runs sweepBlocks.f the way the tier's wrapper splits a
// long sweep, in calls of `rows` rows (whole blocks), on guarded copies (z
// at offset off), and checks the trajectory, the canaries and the
// read-only inputs like sweepCase.
func sweepBlocksCase(t *testing.T, what string, z, h, c, invH []float32, d, rows int, lo, hi float32, off int) {
	t.Helper()
	sweepGuarded(t, what, z, h, c, invH, d, lo, hi, off, func(gz, gh, gc, gi []float32) {
		for i0 := 0; i0 < d; i0 += rows {
			sweepBlocks.f(&gz[0], &gh[0], &gc[0], &gi[0], d, i0, min(d, i0+rows), lo, hi)
		}
	})
}

// TestSweepBlockCalls: the blocked sweep kernel in calls of one block, two,
// three and five (the AVX2 kernel reads the block before the first of a
// call from memory, later ones from a register), so that the partial last
// block sits at every position in a call, for every d from one block
// through 70.
func TestSweepBlockCalls(t *testing.T) {
	if !slices.Contains(Available(), sweepBlocks.tier) {
		t.Skipf("no %s on this CPU", sweepBlocks.tier)
	}
	rng := rand.New(rand.NewPCG(39, 40))
	i := 0
	for d := sweepBlocks.rows; d <= 70; d++ {
		for _, blocks := range []int{1, 2, 3, 5} {
			rows := blocks * sweepBlocks.rows
			z, h, c, invH := sweepProblem(rng, d, 2, 1)
			sweepBlocksCase(t, fmt.Sprintf("%s blocked sweep d=%d rows=%d", sweepBlocks.tier, d, rows), z, h, c, invH, d, rows, -0.5, float32(math.Inf(1)), i%8)
			i++
		}
	}
}

// FuzzSweepBlockCalls is FuzzSweep (values, bounds, offsets) for the
// blocked sweep kernel called in calls of 1 + shape/133 mod 6 blocks.
func FuzzSweepBlockCalls(f *testing.F) {
	addSeeds(f, 0, 1, 2, 8, 9, 16, 56, 62, 133+1, 2*133+2, 5*133+61)
	f.Fuzz(func(t *testing.T, _ uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		if !slices.Contains(Available(), sweepBlocks.tier) {
			t.Skipf("no %s on this CPU", sweepBlocks.tier)
		}
		d := sweepBlocks.rows + int(shape%133)
		rows := sweepBlocks.rows * (1 + int(shape/133%6))
		s := newFuzzSrc(mode, seed, raw)
		lo, hi := s.bounds()
		z, h, c, invH := s.vec(d), s.vec(d*d), s.vec(d), s.vec(d)
		for i, v := range invH {
			if math.IsInf(float64(v), 0) || v != v {
				invH[i] = 0.5 // 1/H_ii of a positive definite H is finite
			}
		}
		sweepBlocksCase(t, fmt.Sprintf("%s blocked sweep d=%d rows=%d lo=%v hi=%v", sweepBlocks.tier, d, rows, lo, hi), z, h, c, invH, d, rows, lo, hi, int(off%8))
	})
}
