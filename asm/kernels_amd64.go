//go:build !purego

package asm

// Declarations of the assembly in avx2_amd64.s and avx512_amd64.s, and the Go
// wrappers that do their safety work: the exported functions have checked
// the lengths; the wrappers pass only pointers to elements that exist, cut
// matrices into the panels the assembly handles (up to 64 columns with lane
// masks for AVX-512; 8 to 16 or 8 to 32 columns, never narrower than one
// vector, for AVX2), finish the AVX2 tails in Go, and split long calls
// (split.go, shared with the NEON wrappers), because a goroutine cannot be
// preempted inside assembly.

//go:noescape
func dotAVX512(x, y *float32, n int) float32

//go:noescape
func axpyAVX512(alpha float32, x, y *float32, n int)

//go:noescape
func clampAVX512(x *float32, n int, lo, hi float32)

//go:noescape
func matVecAVX512(y, a, x *float32, m, n, lda int, acc bool)

//go:noescape
func matTVecAVX512(y, a, x *float32, m, n, lda int, acc bool)

//go:noescape
func gemmAVX512(c, a, b *float32, m, k, lda, ldb, ldc int, masks uint64, nv int, acc bool)

//go:noescape
func gemmNTAVX512(c, a, b *float32, rv, k, n, lda, ldb, ldc int, acc bool)

//go:noescape
func unitUpdateAVX512(zs, h, ci, zrow *float32, k, ldz int, masks uint64, nv int, invHii, lo, hi float32)

//go:noescape
func sweepAVX512(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func clampAVX2(x *float32, n int, lo, hi float32)

//go:noescape
func matVecAVX2(y, a, x *float32, m, n, lda int, acc bool)

//go:noescape
func matTVecAVX2(y, a, x *float32, m, n, lda int, acc bool)

//go:noescape
func gemmAVX2(c, a, b *float32, m, k, lda, ldb, ldc, w int, acc bool)

//go:noescape
func gemmNTAVX2(c, a, b *float32, rv, k, n, lda, ldb, ldc int, acc bool)

//go:noescape
func unitUpdateAVX2(zs, h, ci, zrow *float32, k, ldz, w int, invHii, lo, hi float32)

//go:noescape
func sweep8AVX2(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)

//go:noescape
func dot4x2AVX2(a0, a1, a2, a3, b0, b1 *float64, k int, lanes *[32]float64, s *[8]float64)

var avx512Kernels = kernels{
	tier: AVX512,
	dot:  dot512,
	axpy: func(alpha float32, x, y []float32) { axpySplit(axpyAVX512, alpha, x, y, maxStream) },
	matVec: func(y, a []float32, m, n int, x []float32, acc bool) {
		matVecSplit(matVecAVX512, y, a, m, n, n, x, acc, maxStream)
	},
	matTVec: func(y, a []float32, m, n int, x []float32, acc bool) {
		matTVecSplit(matTVecAVX512, y, a, m, n, n, x, acc, maxStream)
	},
	clamp: func(x []float32, lo, hi float32) { clampSplit(clampAVX512, x, lo, hi, maxStream) },
	gemm:  gemm512,
	gemmNT: func(c, a, b []float32, m, k, n int, acc bool) {
		gemmNTSplit(gemmNTAVX512, c, a, b, m, k, n, k, acc, maxStream)
	},
	unitUpdate: unitUpdate512,
	sweep:      sweep512,
	// The AVX2 body (VEX-encoded, which this tier requires too): Dot4x2's
	// lanes are those of a YMM register on every SIMD tier, so avx512 gives
	// avx2's bits.
	dot4x2:     dot4x2Lanes,
	sparseAxpy: sparseAxpy512,
	nonzeros:   nonzeros256, // the AVX2 kernel
}

// The AVX2 kernels take lengths that are multiples of 8 (and panels of at
// least 8 columns); the wrappers below finish the rest in Go, so that no
// vector touches memory past a slice (see avx2_amd64.s).
var avx2Kernels = kernels{
	tier:       AVX2,
	dot:        dot256,
	axpy:       axpy256,
	matVec:     matVec256,
	matTVec:    matTVec256,
	clamp:      clamp256,
	gemm:       gemm256,
	gemmNT:     gemmNT256,
	unitUpdate: unitUpdate256,
	sweep:      sweep256,
	dot4x2:     dot4x2Lanes,
	sparseAxpy: sparseAxpy256,
	nonzeros:   nonzeros256,
}

// dot4x2Asm is dot4x2Lanes' kernel: the AVX2 one on both tiers.
func dot4x2Asm(a0, a1, a2, a3, b0, b1 *float64, k int, lanes *[32]float64, s *[8]float64) {
	dot4x2AVX2(a0, a1, a2, a3, b0, b1, k, lanes, s)
}

func dot512(x, y []float32) float32 { return dotSplit(dotAVX512, x, y, maxStream) }

// stream8 is maxStream for the AVX2 kernels: a multiple of 8.
func stream8() int { return max(8, maxStream&^7) }

func dot256(x, y []float32) float32 {
	n := len(x)
	n8 := n &^ 7
	var s float32
	if n8 > 0 {
		s = dotSplit(dotAVX2, x[:n8], y[:n8], stream8())
	}
	for i := n8; i < n; i++ {
		s += x[i] * y[i]
	}
	return s
}

func axpy256(alpha float32, x, y []float32) {
	n := len(x)
	n8 := n &^ 7
	if n8 > 0 {
		axpySplit(axpyAVX2, alpha, x[:n8], y[:n8], stream8())
	}
	for i := n8; i < n; i++ {
		y[i] += alpha * x[i]
	}
}

func clamp256(x []float32, lo, hi float32) {
	n8 := len(x) &^ 7
	if n8 > 0 {
		clampSplit(clampAVX2, x[:n8], lo, hi, stream8())
	}
	clampGeneric(x[n8:], lo, hi)
}

func matVec256(y, a []float32, m, n int, x []float32, acc bool) {
	n8 := n &^ 7
	if n8 > 0 {
		matVecSplit(matVecAVX2, y, a, m, n8, n, x, acc, stream8())
	}
	if n8 == n {
		return
	}
	for i := 0; i < m; i++ {
		var s float32
		if n8 > 0 || acc {
			s = y[i]
		}
		for j := n8; j < n; j++ {
			s += a[i*n+j] * x[j]
		}
		y[i] = s
	}
}

func matTVec256(y, a []float32, m, n int, x []float32, acc bool) {
	n8 := n &^ 7
	if n8 > 0 {
		matTVecSplit(matTVecAVX2, y, a, m, n8, n, x, acc, stream8())
	}
	for j := n8; j < n; j++ {
		var s float32
		if acc {
			s = y[j]
		}
		for i := 0; i < m; i++ {
			s += x[i] * a[i*n+j]
		}
		y[j] = s
	}
}

func gemmNT256(c, a, b []float32, m, k, n int, acc bool) {
	k8 := k &^ 7
	if k8 > 0 {
		gemmNTSplit(gemmNTAVX2, c, a, b, m, k8, n, k, acc, stream8())
	}
	if k8 == k {
		return
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if k8 > 0 || acc {
				s = c[i*n+j]
			}
			for p := k8; p < k; p++ {
				s += a[i*k+p] * b[j*k+p]
			}
			c[i*n+j] = s
		}
	}
}

// panelMasks512 returns the 16-bit lane masks of the four vectors of a panel
// of w ≤ 64 columns, packed low to high, and the number of vectors in use.
func panelMasks512(w int) (masks uint64, nv int) {
	return masks512[w], (w + 15) / 16
}

// masks512[w] is panelMasks512's table, built once (the unit update is
// called 64 times per layer and pass: no loop on its path).
var masks512 = func() (t [65]uint64) {
	for w := range t {
		for v := 0; v < 4; v++ {
			lanes := min(max(w-16*v, 0), 16)
			t[w] |= uint64(1<<lanes-1) << (16 * v)
		}
	}
	return t
}()

func gemm512(c, a, b []float32, m, k, n int, acc bool) {
	for j0 := 0; j0 < n; j0 += 64 {
		w := min(64, n-j0)
		masks, nv := panelMasks512(w)
		gemmBlocks(m, k, w, acc, func(r0, rows, k0, kk int, acc bool) {
			gemmAVX512(&c[r0*n+j0], &a[r0*k+k0], &b[k0*n+j0], rows, kk, k, n, n, masks, nv, acc)
		})
	}
}

func gemm256(c, a, b []float32, m, k, n int, acc bool) {
	if n < 8 {
		// Narrower than a vector: run on copies padded to 8 columns (on
		// the stack for the model's sizes).
		var bs, cs [64 * 8]float32
		bp, cp := bs[:], cs[:]
		if k > 64 {
			bp = make([]float32, k*8)
		}
		if m > 64 {
			cp = make([]float32, m*8)
		}
		bp, cp = bp[:k*8], cp[:m*8]
		for p := 0; p < k; p++ {
			copy(bp[p*8:p*8+n], b[p*n:p*n+n])
		}
		if acc {
			for i := 0; i < m; i++ {
				copy(cp[i*8:i*8+n], c[i*n:i*n+n])
			}
		}
		gemm256(cp, a, bp, m, k, 8, acc)
		for i := 0; i < m; i++ {
			copy(c[i*n:i*n+n], cp[i*8:i*8+n])
		}
		return
	}
	for j0 := 0; j0 < n; {
		w := panelWidth(n-j0, 8, 16)
		gemmBlocks(m, k, w, acc, func(r0, rows, k0, kk int, acc bool) {
			gemmAVX2(&c[r0*n+j0], &a[r0*k+k0], &b[k0*n+j0], rows, kk, k, n, n, w, acc)
		})
		j0 += w
	}
}

func unitUpdate512(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	if k*min(t, 64) > maxWork {
		unitUpdateLongK(AVX512, zs, h, ci, row, k, t, invHii, lo, hi)
		return
	}
	if t <= 64 { // the common case: one panel
		unitUpdateAVX512(&zs[0], &h[0], &ci[0], &zs[row*t], k, t, masks512[t], (t+15)/16, invHii, lo, hi)
		return
	}
	for j0 := 0; j0 < t; j0 += 64 {
		masks, nv := panelMasks512(min(64, t-j0))
		unitUpdateAVX512(&zs[j0], &h[0], &ci[j0], &zs[row*t+j0], k, t, masks, nv, invHii, lo, hi)
	}
}

func unitUpdate256(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	if t < 8 {
		// Narrower than a vector: run on a copy padded to 8 columns (only
		// row `row` changes).
		var small [64 * 8]float32
		var cp [8]float32
		zp := small[:]
		if k > 64 {
			zp = make([]float32, k*8)
		}
		for p := 0; p < k; p++ {
			copy(zp[p*8:p*8+t], zs[p*t:p*t+t])
		}
		copy(cp[:], ci[:t])
		unitUpdate256(zp[:k*8], h, cp[:], row, k, 8, invHii, lo, hi)
		copy(zs[row*t:row*t+t], zp[row*8:row*8+t])
		return
	}
	if k*min(t, 32) > maxWork {
		unitUpdateLongK(AVX2, zs, h, ci, row, k, t, invHii, lo, hi)
		return
	}
	for j0 := 0; j0 < t; {
		w := panelWidth(t-j0, 8, 32)
		unitUpdateAVX2(&zs[j0], &h[0], &ci[j0], &zs[row*t+j0], k, t, w, invHii, lo, hi)
		j0 += w
	}
}

// hz sets g[:w] = Σ_p h[p]·b[p*ldb : p*ldb+w] (w ≤ 64) with the tier's gemm
// kernel, in k blocks (for unitUpdateLongK).
func hz(tier Tier, g, h, b []float32, k, ldb, w int) {
	if tier == AVX512 {
		hz512(g, h, b, k, ldb, w)
	} else {
		hz256(g, h, b, k, ldb, w)
	}
}

// hz512 sets g[:w] = Σ_p h[p]·b[p*ldb : p*ldb+w] (w ≤ 64) in k blocks.
func hz512(g, h, b []float32, k, ldb, w int) {
	masks, nv := panelMasks512(w)
	kc := max(1, maxWork/w)
	acc := false
	for k0 := 0; k0 < k; k0 += kc {
		gemmAVX512(&g[0], &h[k0], &b[k0*ldb], 1, min(kc, k-k0), k, ldb, w, masks, nv, acc)
		acc = true
	}
}

// hz256 is hz512 for AVX2 (w ≥ 8), in panels of 8 to 16 columns.
func hz256(g, h, b []float32, k, ldb, w int) {
	kc := max(1, maxWork/16)
	for j0 := 0; j0 < w; {
		ww := panelWidth(w-j0, 8, 16)
		acc := false
		for k0 := 0; k0 < k; k0 += kc {
			gemmAVX2(&g[j0], &h[k0], &b[k0*ldb+j0], 1, min(kc, k-k0), k, ldb, ww, ww, acc)
			acc = true
		}
		j0 += ww
	}
}

// The peak-FMA loops (register-only FMAs) used by the benchmarks to state
// each kernel as a fraction of the machine's peak.
//
//go:noescape
func peakFMAAVX2(n int)

//go:noescape
func peakFMAAVX512(n int)

// sweep512 sends d ≤ 256 to sweep256 (its blocked kernel beats the
// AVX-512 row kernel there: BenchmarkSweep 288 against 514 ns at d = 64,
// 739 against 2,365 at 128) and runs the row kernel sweepAVX512 above,
// which is ahead from 512 up.
func sweep512(z, h, c, invH []float32, d int, lo, hi float32) {
	if d <= 256 {
		sweep256(z, h, c, invH, d, lo, hi)
		return
	}
	sweepSplit(sweepAVX512, 1, dot512, z, h, c, invH, d, lo, hi)
}

// sweep256 runs the sweep in blocks of eight rows (sweep8AVX2), whose dot
// products do not wait for the previous unit's store, for d ≥ 8; below,
// where no row fills a vector, the Go reference is the fastest
// (BenchmarkSweep d = 4: 29.7 cpu-ns against 47.9 for the AVX2 row kernel
// this replaced and 43.0 for the AVX-512 register one).
func sweep256(z, h, c, invH []float32, d int, lo, hi float32) {
	if d < 8 {
		sweepGeneric(z, h, c, invH, d, lo, hi)
		return
	}
	sweepSplit(sweep8AVX2, 8, dot256, z, h, c, invH, d, lo, hi)
}

//go:noescape
func sparseAxpyAVX512(y, w *float32, ld int, idx *int32, val *float32, k, cols int, masks uint64)

//go:noescape
func sparseAxpyAVX2(y, w *float32, ld int, idx *int32, val *float32, k, cols int)

// sparseAxpyAVX512m is sparseAxpyAVX512 with sparseSplit's signature: the
// lane masks of the last cols mod 64 columns from the table.
func sparseAxpyAVX512m(y, w *float32, ld int, idx *int32, val *float32, k, cols int) {
	sparseAxpyAVX512(y, w, ld, idx, val, k, cols, masks512[cols&63])
}

func sparseAxpy512(y, w []float32, d int, idx []int32, val []float32) {
	sparseSplit(sparseAxpyAVX512m, y, w, d, idx, val, 1)
}

func sparseAxpy256(y, w []float32, d int, idx []int32, val []float32) {
	sparseSplit(sparseAxpyAVX2, y, w, d, idx, val, 8)
}

//go:noescape
func nonzerosAVX2(idx *int32, val, x *float32, n, base int, perm *[256][8]int32, count *[256]uint8) int

// nzPerm[m] lists the set bits of the 8-bit mask m in increasing order
// (the rest 0), nzCount[m] counts them: nonzerosAVX2 packs the nonzero
// elements of a vector of 8 with them.
var nzPerm, nzCount = func() (perm [256][8]int32, count [256]uint8) {
	for m := range perm {
		for b := 0; b < 8; b++ {
			if m>>b&1 == 1 {
				perm[m][count[m]] = int32(b)
				count[m]++
			}
		}
	}
	return perm, count
}()

// nonzeros256 packs the first len(x)&^7 elements with the assembly, in
// calls of at most maxStream, and the rest in Go. Each vector of 8 is
// stored whole at the current count n, which is at most its position p,
// so the stores stay within idx[:len(x)] and val[:len(x)].
func nonzeros256(idx []int32, val []float32, x []float32) int {
	n8 := len(x) &^ 7
	n := 0
	for i0 := 0; i0 < n8; {
		m := min(n8-i0, stream8())
		n += nonzerosAVX2(&idx[n], &val[n], &x[i0], m, i0, &nzPerm, &nzCount)
		i0 += m
	}
	return n + nonzerosFrom(idx[n:], val[n:], x[n8:], n8)
}
