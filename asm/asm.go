// Package asm holds the float32 kernels that BCD inference and training
// spend their time in: dot products, axpy, matrix-vector and small
// matrix-matrix products, clamps, and the batched unit update of block
// coordinate descent; the float64 4×2 dot-product micro-kernel of the
// certifier's Gram products and Cholesky factorisations (Dot4x2); and the
// sparse product of the certifier's input part (Nonzeros, SparseAxpy).
//
// Every kernel has a pure-Go reference (always compiled) and, where the CPU
// allows, hand-written assembly: AVX2+FMA and AVX-512 on amd64, NEON on
// arm64. The implementation tier is chosen once at start-up from the CPU's
// features (github.com/klauspost/cpuid/v2); the environment variable
// LRRN_SIMD=generic|avx2|avx512|neon forces a tier (a tier the CPU lacks
// falls back to the best available one, with a warning on stderr). CurrentTier
// reports the tier in use.
//
// Matrices are row-major and densely packed (the stride of a row is its
// number of columns). The exported functions check lengths and panic on a
// mismatch, like the built-in copy would not: that is a programming error,
// never a data error.
package asm

import (
	"fmt"
	"math"
	"math/bits"
)

// Dot returns Σ x[i]·y[i]. len(x) must equal len(y).
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("asm.Dot: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	if len(x) == 0 {
		return 0
	}
	return impl.dot(x, y)
}

// Axpy computes y[i] += alpha·x[i]. len(x) must equal len(y).
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("asm.Axpy: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	if len(x) == 0 {
		return
	}
	impl.axpy(alpha, x, y)
}

// MatVec computes y = A·x, or y += A·x when acc is true, for the m×n
// row-major matrix A (len(a) ≥ m·n, len(x) ≥ n, len(y) ≥ m).
func MatVec(y, a []float32, m, n int, x []float32, acc bool) {
	checkMat("MatVec", a, m, n)
	if len(x) < n || len(y) < m {
		panic(fmt.Sprintf("asm.MatVec: len(x)=%d < n=%d or len(y)=%d < m=%d", len(x), n, len(y), m))
	}
	if m == 0 {
		return
	}
	if n == 0 {
		if !acc {
			clear(y[:m])
		}
		return
	}
	impl.matVec(y, a, m, n, x, acc)
}

// MatTVec computes y = Aᵀ·x, or y += Aᵀ·x when acc is true, for the m×n
// row-major matrix A (len(a) ≥ m·n, len(x) ≥ m, len(y) ≥ n).
func MatTVec(y, a []float32, m, n int, x []float32, acc bool) {
	checkMat("MatTVec", a, m, n)
	if len(x) < m || len(y) < n {
		panic(fmt.Sprintf("asm.MatTVec: len(x)=%d < m=%d or len(y)=%d < n=%d", len(x), m, len(y), n))
	}
	if n == 0 {
		return
	}
	if m == 0 {
		if !acc {
			clear(y[:n])
		}
		return
	}
	impl.matTVec(y, a, m, n, x, acc)
}

// Clamp sets x[i] = min(max(x[i], lo), hi) in place. lo may be −Inf and hi
// +Inf (linear and relu activation sets). NaN elements stay NaN; −0 stays −0
// unless lo > 0 or hi < 0. lo ≤ hi is required.
func Clamp(x []float32, lo, hi float32) {
	if !(lo <= hi) {
		panic(fmt.Sprintf("asm.Clamp: lo=%v > hi=%v", lo, hi))
	}
	if len(x) == 0 {
		return
	}
	impl.clamp(x, lo, hi)
}

// Gemm computes C = A·B, or C += A·B when acc is true, with A m×k, B k×n and
// C m×n, all row-major and densely packed.
func Gemm(c, a, b []float32, m, k, n int, acc bool) {
	checkMat("Gemm A", a, m, k)
	checkMat("Gemm B", b, k, n)
	checkMat("Gemm C", c, m, n)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			clear(c[:m*n])
		}
		return
	}
	if n == 1 { // one column: a matrix-vector product
		impl.matVec(c, a, m, k, b, acc)
		return
	}
	impl.gemm(c, a, b, m, k, n, acc)
}

// GemmNT computes C = A·Bᵀ, or C += A·Bᵀ when acc is true, with A m×k,
// B n×k and C m×n, all row-major and densely packed.
func GemmNT(c, a, b []float32, m, k, n int, acc bool) {
	checkMat("GemmNT A", a, m, k)
	checkMat("GemmNT B", b, n, k)
	checkMat("GemmNT C", c, m, n)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			clear(c[:m*n])
		}
		return
	}
	if n == 1 { // one row of B: a matrix-vector product
		impl.matVec(c, a, m, k, b, acc)
		return
	}
	impl.gemmNT(c, a, b, m, k, n, acc)
}

// UnitUpdate is one coordinate step of BCD applied across a tile of t
// independent problems. zs is the k×t layer block (row p holds unit p for
// all t problems), h is row `row` of the layer's matrix H (length k), ci the
// t values of c for that unit. For every column j:
//
//	g = Σ_p h[p]·zs[p][j] − ci[j]
//	zs[row][j] = clamp(zs[row][j] − g·invHii, lo, hi)
//
// with the semantics of Clamp.
func UnitUpdate(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	checkMat("UnitUpdate zs", zs, k, t)
	if len(h) < k || len(ci) < t || row < 0 || row >= k {
		panic(fmt.Sprintf("asm.UnitUpdate: len(h)=%d k=%d len(ci)=%d t=%d row=%d", len(h), k, len(ci), t, row))
	}
	if !(lo <= hi) {
		panic(fmt.Sprintf("asm.UnitUpdate: lo=%v > hi=%v", lo, hi))
	}
	if t == 0 {
		return
	}
	if t == 1 { // a single problem: the column is contiguous
		zs[row] = unitStep(zs[row], impl.dot(h[:k], zs[:k]), ci[0], invHii, lo, hi)
		return
	}
	impl.unitUpdate(zs, h, ci, row, k, t, invHii, lo, hi)
}

// Sweep is one Gauss–Seidel sweep of BCD over a layer of d units for a
// single problem: for i = 0, 1, …, d−1 in turn,
//
//	z[i] = clamp(z[i] − (Σ_p h[i*d+p]·z[p] − c[i])·invH[i], lo, hi)
//
// where z[p] for p < i already holds its new value. It is the sequence of
// UnitUpdate(z, h[i*d:i*d+d], c[i:i+1], i, d, 1, invH[i], lo, hi) calls in
// one call (h is the d×d row-major matrix, len(h) ≥ d·d, and z, c and invH
// have at least d elements), with the semantics of Clamp; the dot products
// may be summed in any order.
func Sweep(z, h, c, invH []float32, d int, lo, hi float32) {
	checkMat("Sweep h", h, d, d)
	if len(z) < d || len(c) < d || len(invH) < d {
		panic(fmt.Sprintf("asm.Sweep: len(z)=%d len(c)=%d len(invH)=%d, need d=%d", len(z), len(c), len(invH), d))
	}
	if !(lo <= hi) {
		panic(fmt.Sprintf("asm.Sweep: lo=%v > hi=%v", lo, hi))
	}
	if d == 0 {
		return
	}
	impl.sweep(z[:d], h[:d*d], c[:d], invH[:d], d, lo, hi)
}

// Dot4x2 returns the eight float64 dot products of a0 … a3 with b0 and b1,
// s[2r+c] = Σ_p a_r[p]·b_c[p]; the six slices must have the same length.
//
// The summation order is fixed per tier, so that a tier gives the same bits
// on every call, and the SIMD tiers the same bits on every machine:
//
//   - generic: one chain per entry in index order, s = ((0 + t_0) + t_1) + …
//     (products rounded unless the compiler fuses them, as Go does on
//     arm64);
//   - avx2, avx512 and neon (identical bits): the first k = len&^3 products
//     in four lanes by residue of p mod 4, each lane l_i = fma(a[p], b[p],
//     l_i) in index order from +0, the lanes added as (l_0+l_2)+(l_1+l_3),
//     then the remaining len−k products, each rounded, added in order.
//
// Every order is an evaluation of the sum to which the usual bounds apply
// (|ŝ − s| ≤ γ_n·Σ|a_r[p]·b_c[p]|, Higham's Lemma 8.4 holds for any order).
func Dot4x2(a0, a1, a2, a3, b0, b1 []float64) [8]float64 {
	n := len(a0)
	if len(a1) != n || len(a2) != n || len(a3) != n || len(b0) != n || len(b1) != n {
		panic(fmt.Sprintf("asm.Dot4x2: lengths a %d %d %d %d, b %d %d differ",
			len(a0), len(a1), len(a2), len(a3), len(b0), len(b1)))
	}
	if n == 0 {
		return [8]float64{}
	}
	return impl.dot4x2(a0, a1, a2, a3, b0, b1)
}

// SparseAxpy computes y[e] += Σ_k val[k]·w[idx[k]·d+e] for e < d: the
// axpy of the rows idx[0], idx[1], … of the row-major matrix w (d columns,
// len(w)/d rows) scaled by val, a sparse vector-matrix product. len(idx)
// must equal len(val), len(y) ≥ d and every idx[k] name a row of w
// (0 ≤ idx[k], idx[k]·d + d ≤ len(w)); indices may repeat.
//
// The summation order is fixed: every element is one chain over k in
// order, y_e ← y_e + val[k]·w[idx[k]·d+e] for k = 0, 1, …, len(idx)−1, so
// that the result is a function of the arguments only. The SIMD tiers
// (avx2, avx512, neon) fuse each step (one rounding, identical bits on
// every SIMD tier); the reference rounds the product and the sum unless
// the compiler fuses them (as Go does on arm64). A chain of n terms meets
// at most n roundings in either case.
func SparseAxpy(y, w []float32, d int, idx []int32, val []float32) {
	if d < 0 || len(y) < d || len(idx) != len(val) {
		panic(fmt.Sprintf("asm.SparseAxpy: d=%d len(y)=%d len(idx)=%d len(val)=%d", d, len(y), len(idx), len(val)))
	}
	if d == 0 || len(idx) == 0 {
		return
	}
	rows := len(w) / d
	for k, r := range idx {
		if r < 0 || int(r) >= rows {
			panic(fmt.Sprintf("asm.SparseAxpy: idx[%d]=%d out of range [0, %d) (len(w)=%d, d=%d)", k, r, rows, len(w), d))
		}
	}
	impl.sparseAxpy(y[:d], w[:rows*d], d, idx, val)
}

// Nonzeros writes the positions p, in increasing order, and the values
// x[p] of the elements of x that are not zero (±0 are zero; NaN is not) to
// idx[:n] and val[:n], and returns their number n: the index and value
// lists SparseAxpy takes. len(idx) and len(val) must be at least len(x),
// which must fit an int32; idx[n:len(x)] and val[n:len(x)] are scratch
// (the avx2 and avx512 tiers write whole vectors; neon runs the
// reference).
func Nonzeros(idx []int32, val []float32, x []float32) int {
	if len(idx) < len(x) || len(val) < len(x) || len(x) > math.MaxInt32 {
		panic(fmt.Sprintf("asm.Nonzeros: len(idx)=%d len(val)=%d, need len(x)=%d (at most %d)", len(idx), len(val), len(x), math.MaxInt32))
	}
	if len(x) == 0 {
		return 0
	}
	return impl.nonzeros(idx, val, x)
}

// unitStep is the scalar BCD step of one unit given s = Σ_p h[p]·z[p]:
// clamp(z − (s − c)·inv, lo, hi), with the semantics of Clamp.
func unitStep(z, s, c, inv, lo, hi float32) float32 {
	v := z - (s-c)*inv
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}

// checkMat panics unless m, n ≥ 0 and len(a) ≥ m·n (without overflow, and
// without a division: it runs on every UnitUpdate call).
func checkMat(name string, a []float32, m, n int) {
	if m < 0 || n < 0 {
		panic(fmt.Sprintf("asm.%s: negative size %d×%d", name, m, n))
	}
	if hi, lo := bits.Mul64(uint64(m), uint64(n)); hi != 0 || lo > uint64(len(a)) {
		panic(fmt.Sprintf("asm.%s: len=%d too short for %d×%d", name, len(a), m, n))
	}
}
