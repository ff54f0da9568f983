//go:build !purego && (amd64 || arm64)

package asm

// The splitting shared by the assembly tiers' wrappers (kernels_amd64.go,
// neon_arm64.go): a goroutine cannot be preempted inside assembly, so no
// assembly call may run long. The helpers cut a kernel call into calls of at
// most maxStream elements (streaming kernels) or about maxWork multiply-adds
// (matrix kernels); later blocks of a sum accumulate into the earlier ones.

// maxStream is the most elements one assembly call of a streaming kernel
// (dot, axpy, clamp, one row of a matrix-vector product) handles; maxWork
// the most multiply-adds one call of a matrix kernel does (about 10 µs at
// peak). Variables so that tests can make them small and exercise the
// splitting on small inputs.
var (
	maxStream = 1 << 16
	maxWork   = 1 << 20
)

func dotSplit(f func(x, y *float32, n int) float32, x, y []float32, chunk int) float32 {
	n := len(x)
	y = y[:n]
	if n <= chunk {
		return f(&x[0], &y[0], n)
	}
	var s float32
	for i := 0; i < n; i += chunk {
		s += f(&x[i], &y[i], min(chunk, n-i))
	}
	return s
}

func axpySplit(f func(alpha float32, x, y *float32, n int), alpha float32, x, y []float32, chunk int) {
	n := len(x)
	y = y[:n]
	for i := 0; i < n; i += chunk {
		f(alpha, &x[i], &y[i], min(chunk, n-i))
	}
}

func clampSplit(f func(x *float32, n int, lo, hi float32), x []float32, lo, hi float32, chunk int) {
	for i := 0; i < len(x); i += chunk {
		f(&x[i], min(chunk, len(x)-i), lo, hi)
	}
}

// matVecSplit: y (+)= A[:, :n]·x for the m rows of stride lda, in blocks of
// at most chunk columns × maxWork multiply-adds; column blocks after the
// first accumulate.
func matVecSplit(f func(y, a, x *float32, m, n, lda int, acc bool), y, a []float32, m, n, lda int, x []float32, acc bool, chunk int) {
	cols := min(n, chunk)
	rows := max(1, maxWork/cols)
	for c0 := 0; c0 < n; c0 += cols {
		w := min(cols, n-c0)
		for r0 := 0; r0 < m; r0 += rows {
			f(&y[r0], &a[r0*lda+c0], &x[c0], min(rows, m-r0), w, lda, acc)
		}
		acc = true
	}
}

// matTVecSplit: y[:n] (+)= A[:, :n]ᵀ·x for the m rows of stride lda, in
// blocks of at most chunk columns × maxWork multiply-adds; row blocks after
// the first accumulate.
func matTVecSplit(f func(y, a, x *float32, m, n, lda int, acc bool), y, a []float32, m, n, lda int, x []float32, acc bool, chunk int) {
	cols := min(n, chunk)
	rows := max(1, maxWork/cols)
	for c0 := 0; c0 < n; c0 += cols {
		w := min(cols, n-c0)
		acc := acc
		for r0 := 0; r0 < m; r0 += rows {
			f(&y[c0], &a[r0*lda+c0], &x[r0], min(rows, m-r0), w, lda, acc)
			acc = true
		}
	}
}

// panelWidth returns the width of the next panel when rem ≥ lo columns are
// left: at most hi, and never leaving a remainder narrower than lo (the
// AVX2 panels need at least one full vector of columns).
func panelWidth(rem, lo, hi int) int {
	w := min(hi, rem)
	if r := rem - w; r > 0 && r < lo {
		w = rem - lo
	}
	return w
}

// gemmBlocks splits a panel of width w of C (m×n) += A (m×k) · B (k×n) into
// row and k blocks of at most maxWork multiply-adds and calls f on each with
// (row offset, rows, k offset, k length, acc).
func gemmBlocks(m, k, w int, acc bool, f func(r0, rows, k0, kk int, acc bool)) {
	kc := min(k, max(1, maxWork/(4*w)))
	rc := max(4, maxWork/(kc*w)&^3)
	for r0 := 0; r0 < m; r0 += rc {
		a := acc
		for k0 := 0; k0 < k; k0 += kc {
			f(r0, min(rc, m-r0), k0, min(kc, k-k0), a)
			a = true
		}
	}
}

// gemmNTSplit: C (+)= A[:, :k]·B[:, :k]ᵀ with A and B of row stride ld,
// one assembly call per block of four rows of C, with the columns and k cut
// so that a call does at most about maxWork multiply-adds (k blocks of at
// most chunk); k blocks after the first accumulate.
func gemmNTSplit(f func(c, a, b *float32, rv, k, n, lda, ldb, ldc int, acc bool), c, a, b []float32, m, k, n, ld int, acc bool, chunk int) {
	kc := min(k, chunk)
	nc := max(4, maxWork/(4*kc)&^3)
	for i0 := 0; i0 < m; i0 += 4 {
		rv := min(4, m-i0)
		for j0 := 0; j0 < n; j0 += nc {
			a2 := acc
			for k0 := 0; k0 < k; k0 += kc {
				f(&c[i0*n+j0], &a[i0*ld+k0], &b[j0*ld+k0], rv, min(kc, k-k0), min(nc, n-j0), ld, ld, n, a2)
				a2 = true
			}
		}
	}
}

// unitUpdateLongK is the unit update for a k so long that one panel would
// run too long in one call: g = hᵀ·zs is computed 64 columns at a time by
// the tier's gemm kernel (hz, which splits k), and the step done in Go. (A
// tier, not a function value, so that g stays on the stack.)
func unitUpdateLongK(tier Tier, zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	var g [64]float32
	zi := zs[row*t : row*t+t]
	for j0 := 0; j0 < t; {
		w := panelWidth(t-j0, 8, 64)
		hz(tier, g[:w], h[:k], zs[j0:], k, t, w)
		for j := 0; j < w; j++ {
			zi[j0+j] = unitStep(zi[j0+j], g[j], ci[j0+j], invHii, lo, hi)
		}
		j0 += w
	}
}

// dot4x2Lanes is Dot4x2 on the SIMD tiers (see Dot4x2 for the order): the
// architecture's assembly (dot4x2Asm, a direct call so that nothing
// escapes) sums the products p < len&^3 in lanes and adds the lanes. A
// long product is cut into calls of at most about maxWork multiply-adds,
// each a multiple of four products, that carry the lanes over (in l), so
// the sums are the same however the calls are cut. The remaining products
// are added here.
func dot4x2Lanes(a0, a1, a2, a3, b0, b1 []float64) (s [8]float64) {
	n := len(a0)
	a1, a2, a3, b0, b1 = a1[:n], a2[:n], a3[:n], b0[:n], b1[:n]
	k := n &^ 3
	if chunk := max(4, maxWork/8&^3); k > chunk {
		var l [32]float64
		for p := 0; p < k; p += chunk {
			dot4x2Asm(&a0[p], &a1[p], &a2[p], &a3[p], &b0[p], &b1[p], min(chunk, k-p), &l, &s)
		}
	} else if k > 0 {
		dot4x2Asm(&a0[0], &a1[0], &a2[0], &a3[0], &b0[0], &b1[0], k, nil, &s)
	}
	for p := k; p < n; p++ {
		x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
		y0, y1 := b0[p], b1[p]
		// float64(…): the product is rounded, never fused into the sum.
		s[0] += float64(x0 * y0)
		s[1] += float64(x0 * y1)
		s[2] += float64(x1 * y0)
		s[3] += float64(x1 * y1)
		s[4] += float64(x2 * y0)
		s[5] += float64(x2 * y1)
		s[6] += float64(x3 * y0)
		s[7] += float64(x3 * y1)
	}
	return s
}

// sparseSplit runs a sparse axpy (see SparseAxpy) with the assembly f, which
// does y[0:cols] of the rows of stride ld for k nonzeros, in calls of at
// most about maxWork multiply-adds: column blocks of at most maxStream
// (never narrower than lo, as panelWidth cuts them) times blocks of the
// nonzeros. A later block of nonzeros continues each element's chain from
// the stored y, so the blocks give the bits of one call.
func sparseSplit(f func(y, w *float32, ld int, idx *int32, val *float32, k, cols int), y, w []float32, d int, idx []int32, val []float32, lo int) {
	if d <= maxStream && d*len(idx) <= maxWork { // the common case: one call
		f(&y[0], &w[0], d, &idx[0], &val[0], len(idx), d)
		return
	}
	for j0 := 0; j0 < d; {
		cols := d - j0
		if cols > maxStream {
			cols = panelWidth(cols, lo, max(lo, maxStream&^63))
		}
		kc := max(1, maxWork/cols)
		for k0 := 0; k0 < len(idx); k0 += kc {
			k1 := min(len(idx), k0+kc)
			f(&y[j0], &w[j0], d, &idx[k0], &val[k0], k1-k0, cols)
		}
		j0 += cols
	}
}

// sweepSplit runs a sweep (see Sweep) with the assembly f, which does rows
// i0 … i1−1 in blocks of `block` rows (a power of two: 1 for a row kernel),
// in calls of whole blocks of about maxWork multiply-adds; rows longer than
// maxStream go through the Go loop over dot instead.
func sweepSplit(f func(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32), block int, dot func(x, y []float32) float32,
	z, h, c, invH []float32, d int, lo, hi float32) {
	if d > maxStream {
		sweepDot(dot, z, h, c, invH, 0, d, d, lo, hi)
		return
	}
	z, h, c, invH = z[:d], h[:d*d], c[:d], invH[:d]
	rows := max(block, maxWork/d&^(block-1))
	for i0 := 0; i0 < d; i0 += rows {
		f(&z[0], &h[0], &c[0], &invH[0], d, i0, min(d, i0+rows), lo, hi)
	}
}
