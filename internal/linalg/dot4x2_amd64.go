//go:build !purego

package linalg

import "github.com/lrrn/lrrn/asm"

//go:noescape
func dot4x2AVX2(a0, a1, a2, a3, b0, b1 *float64, k int, out *[8]float64)

// simd4x2 reports whether the 4×2 micro-kernel runs in assembly: on the
// avx2 and avx512 tiers of package asm (which guarantee AVX2 and FMA), so
// that LRRN_SIMD=generic gives the pure-Go results everywhere.
func simd4x2() bool {
	t := asm.CurrentTier()
	return t == asm.AVX2 || t == asm.AVX512
}

// dot4x2 returns the eight dot products of a0 … a3 with b0 and b1 (all of
// length k): s[2r+c] = Σ a_r[p]·b_c[p]. With the assembly kernel, the
// first k&^3 products are summed in four lanes by residue mod 4 (fused
// multiply-adds, in order), the lanes added as (l0+l2)+(l1+l3), and the
// remaining products added in order; otherwise one chain per entry.
func dot4x2(a0, a1, a2, a3, b0, b1 []float64) (s [8]float64) {
	k := len(a0)
	if !simd4x2() || k < 4 {
		return dot4x2Go(a0, a1, a2, a3, b0, b1)
	}
	k4 := k &^ 3
	a1, a2, a3, b0, b1 = a1[:k], a2[:k], a3[:k], b0[:k], b1[:k]
	dot4x2AVX2(&a0[0], &a1[0], &a2[0], &a3[0], &b0[0], &b1[0], k4, &s)
	for p := k4; p < k; p++ {
		x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
		y0, y1 := b0[p], b1[p]
		s[0] += x0 * y0
		s[1] += x0 * y1
		s[2] += x1 * y0
		s[3] += x1 * y1
		s[4] += x2 * y0
		s[5] += x2 * y1
		s[6] += x3 * y0
		s[7] += x3 * y1
	}
	return s
}
