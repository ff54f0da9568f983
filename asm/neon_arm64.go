//go:build !purego

package asm

// The NEON tier: Go declarations of the assembly in neon_arm64.s and the
// wrappers that do its safety work. The exported functions in asm.go have
// checked lengths and removed empty sizes; the wrappers pass only pointers
// to elements that exist (a caller that bypassed those checks gets a bounds
// panic here rather than memory corruption in assembly) and split long
// calls with the helpers of split.go, as the amd64 wrappers do, because a
// goroutine cannot be preempted inside assembly.

import "unsafe"

var neonKernels = kernels{
	tier: NEON,
	dot:  dotNEONGo,
	axpy: func(alpha float32, x, y []float32) { axpySplit(axpyNEON, alpha, x, y, maxStream) },
	matVec: func(y, a []float32, m, n int, x []float32, acc bool) {
		matVecSplit(matVecNEON, y, a, m, n, n, x, acc, maxStream)
	},
	matTVec: func(y, a []float32, m, n int, x []float32, acc bool) {
		matTVecSplit(matTVecNEON, y, a, m, n, n, x, acc, maxStream)
	},
	clamp: func(x []float32, lo, hi float32) { clampSplit(clampNEON, x, lo, hi, maxStream) },
	gemm:  gemmNEONGo,
	gemmNT: func(c, a, b []float32, m, k, n int, acc bool) {
		gemmNTSplit(gemmNTNEON, c, a, b, m, k, n, k, acc, maxStream)
	},
	unitUpdate: unitUpdateNEONGo,
	sweep:      sweepNEONGo,
	dot4x2:     dot4x2Lanes,
	sparseAxpy: func(y, w []float32, d int, idx []int32, val []float32) {
		sparseSplit(sparseAxpyNEON, y, w, d, idx, val, 1)
	},
	nonzeros: nonzerosGeneric,
}

// dot4x2Asm is dot4x2Lanes' kernel.
func dot4x2Asm(a0, a1, a2, a3, b0, b1 *float64, k int, lanes *[32]float64, s *[8]float64) {
	dot4x2NEON(a0, a1, a2, a3, b0, b1, k, lanes, s)
}

//go:noescape
func sparseAxpyNEON(y, w *float32, ld int, idx *int32, val *float32, k, cols int)

//go:noescape
func dotNEON(x, y *float32, n int) float32

//go:noescape
func axpyNEON(alpha float32, x, y *float32, n int)

//go:noescape
func clampNEON(x *float32, n int, lo, hi float32)

//go:noescape
func matVecNEON(y, a, x *float32, m, n, lda int, acc bool)

//go:noescape
func matTVecNEON(y, a, x *float32, m, n, lda int, acc bool)

//go:noescape
func gemm4NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)

//go:noescape
func gemm1NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)

//go:noescape
func gemmNT4NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)

//go:noescape
func gemmNT1NEON(c, a, b *float32, k, n, lda, ldb, ldc int, acc bool)

//go:noescape
func dot4x2NEON(a0, a1, a2, a3, b0, b1 *float64, k int, lanes *[32]float64, s *[8]float64)

//go:noescape
func sweep4NEON(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)

//go:noescape
func unitUpdateNEON(zs, h, ci *float32, row, k, t, ldz int, invHii, lo, hi float32)

func dotNEONGo(x, y []float32) float32 { return dotSplit(dotNEON, x, y, maxStream) }

// neonPanel is the widest column panel of one gemm call (the kernels work
// in tiles of 16, 4 and 1 columns; the model's products have at most 64).
const neonPanel = 64

func gemmNEONGo(c, a, b []float32, m, k, n int, acc bool) {
	c, a, b = c[:m*n], a[:m*k], b[:k*n]
	for j0 := 0; j0 < n; j0 += neonPanel {
		w := min(neonPanel, n-j0)
		gemmBlocks(m, k, w, acc, func(r0, rows, k0, kk int, acc bool) {
			i, end := r0, r0+rows
			for ; i+4 <= end; i += 4 {
				gemm4NEON(&c[i*n+j0], &a[i*k+k0], &b[k0*n+j0], kk, w, k, n, n, acc)
			}
			for ; i < end; i++ {
				gemm1NEON(&c[i*n+j0], &a[i*k+k0], &b[k0*n+j0], kk, w, k, n, n, acc)
			}
		})
	}
}

// gemmNTNEON is one block of rv ≤ 4 rows of C for gemmNTSplit.
func gemmNTNEON(c, a, b *float32, rv, k, n, lda, ldb, ldc int, acc bool) {
	if rv == 4 {
		gemmNT4NEON(c, a, b, k, n, lda, ldb, ldc, acc)
		return
	}
	for r := 0; r < rv; r++ {
		cr := (*float32)(unsafe.Add(unsafe.Pointer(c), 4*r*ldc))
		ar := (*float32)(unsafe.Add(unsafe.Pointer(a), 4*r*lda))
		gemmNT1NEON(cr, ar, b, k, n, lda, ldb, ldc, acc)
	}
}

func unitUpdateNEONGo(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	zs, h, ci = zs[:k*t], h[:k], ci[:t]
	_ = zs[row*t+t-1] // row < k
	if k*min(t, 16) > maxWork {
		unitUpdateLongK(NEON, zs, h, ci, row, k, t, invHii, lo, hi)
		return
	}
	w := max(16, maxWork/k&^15) // columns per call
	for j0 := 0; j0 < t; j0 += w {
		unitUpdateNEON(&zs[j0], &h[0], &ci[j0], row, k, min(w, t-j0), t, invHii, lo, hi)
	}
}

// hz sets g[:w] = Σ_p h[p]·b[p*ldb : p*ldb+w] (w ≤ 64) with the one-row
// gemm kernel, in k blocks (for unitUpdateLongK).
func hz(_ Tier, g, h, b []float32, k, ldb, w int) {
	kc := max(1, maxWork/w)
	acc := false
	for k0 := 0; k0 < k; k0 += kc {
		gemm1NEON(&g[0], &h[k0], &b[k0*ldb], min(kc, k-k0), w, k, ldb, w, acc)
		acc = true
	}
}

// sweepNEONGo runs the sweep in blocks of four rows (sweep4NEON, the
// blocked sweep of the AVX2 tier) for d ≥ 4, whole blocks per call. Rows
// narrower than a vector, and rows too long for one call (d > maxStream),
// go through a Go loop over the NEON dot product (the sequence of
// single-problem unit updates, without their per-call checks).
func sweepNEONGo(z, h, c, invH []float32, d int, lo, hi float32) {
	if d < 4 {
		sweepDot(dotNEONGo, z, h, c, invH, 0, d, d, lo, hi)
		return
	}
	sweepSplit(sweep4NEON, 4, dotNEONGo, z, h, c, invH, d, lo, hi)
}
