//go:build !purego

package asm

// The NEON tier: Go declarations of the assembly in neon_arm64.s and the
// wrappers that turn slices into pointers. The exported functions in asm.go
// have checked lengths and removed empty sizes; the wrappers below re-slice
// to the exact extents first, so a caller that bypassed those checks gets a
// bounds panic here rather than memory corruption in assembly.
//
// Assembly is not preempted while it runs, so the wrappers split long inputs
// into calls of at most about neonChunk elements (a few microseconds each).

import "unsafe"

const neonChunk = 1 << 16

var neonKernels = kernels{
	tier:       NEON,
	dot:        dotNEONGo,
	axpy:       axpyNEONGo,
	matVec:     matVecNEONGo,
	matTVec:    matTVecNEONGo,
	clamp:      clampNEONGo,
	gemm:       gemmNEONGo,
	gemmNT:     gemmNTNEONGo,
	unitUpdate: unitUpdateNEONGo,
	sweep:      sweepNEONGo,
}

//go:noescape
func dotNEON(x, y *float32, n int) float32

//go:noescape
func axpyNEON(alpha float32, x, y *float32, n int)

//go:noescape
func clampNEON(x *float32, n int, lo, hi float32)

//go:noescape
func matVecNEON(y, a *float32, m, n int, x *float32, acc bool)

//go:noescape
func matTVecNEON(y, a *float32, m, n int, x *float32, acc bool)

//go:noescape
func gemm4NEON(c, a, b *float32, k, n int, acc bool)

//go:noescape
func gemm1NEON(c, a, b *float32, k, n int, acc bool)

//go:noescape
func gemmNT4NEON(c, a, b *float32, k, n int, acc bool)

//go:noescape
func gemmNT1NEON(c, a, b *float32, k, n int, acc bool)

//go:noescape
func unitUpdateNEON(zs, h, ci *float32, row, k, t int, invHii, lo, hi float32)

func ptr(s []float32) *float32 { return unsafe.SliceData(s) }

func dotNEONGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for len(x) > neonChunk {
		s += dotNEON(ptr(x), ptr(y), neonChunk)
		x, y = x[neonChunk:], y[neonChunk:]
	}
	return s + dotNEON(ptr(x), ptr(y), len(x))
}

func axpyNEONGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for len(x) > 0 {
		n := min(len(x), neonChunk)
		axpyNEON(alpha, ptr(x), ptr(y), n)
		x, y = x[n:], y[n:]
	}
}

func clampNEONGo(x []float32, lo, hi float32) {
	for len(x) > 0 {
		n := min(len(x), neonChunk)
		clampNEON(ptr(x), n, lo, hi)
		x = x[n:]
	}
}

// rowsPerCall is how many rows of an m×n matrix one call may take: a
// multiple of 4, at least 4, about neonChunk elements.
func rowsPerCall(n int) int {
	return max(4, neonChunk/max(n, 1)&^3)
}

func matVecNEONGo(y, a []float32, m, n int, x []float32, acc bool) {
	a, x, y = a[:m*n], x[:n], y[:m]
	step := rowsPerCall(n)
	for i := 0; i < m; i += step {
		r := min(step, m-i)
		matVecNEON(ptr(y[i:]), ptr(a[i*n:]), r, n, ptr(x), acc)
	}
}

func matTVecNEONGo(y, a []float32, m, n int, x []float32, acc bool) {
	a, x, y = a[:m*n], x[:m], y[:n]
	if m == 0 {
		if !acc {
			clear(y)
		}
		return
	}
	step := rowsPerCall(n)
	for i := 0; i < m; i += step {
		r := min(step, m-i)
		// Later row blocks add to what the first one wrote.
		matTVecNEON(ptr(y), ptr(a[i*n:]), r, n, ptr(x[i:]), acc || i > 0)
	}
}

func gemmNEONGo(c, a, b []float32, m, k, n int, acc bool) {
	c, a, b = c[:m*n], a[:m*k], b[:k*n]
	i := 0
	for ; i+4 <= m; i += 4 {
		gemm4NEON(ptr(c[i*n:]), ptr(a[i*k:]), ptr(b), k, n, acc)
	}
	for ; i < m; i++ {
		gemm1NEON(ptr(c[i*n:]), ptr(a[i*k:]), ptr(b), k, n, acc)
	}
}

func gemmNTNEONGo(c, a, b []float32, m, k, n int, acc bool) {
	c, a, b = c[:m*n], a[:m*k], b[:n*k]
	i := 0
	for ; i+4 <= m; i += 4 {
		gemmNT4NEON(ptr(c[i*n:]), ptr(a[i*k:]), ptr(b), k, n, acc)
	}
	for ; i < m; i++ {
		gemmNT1NEON(ptr(c[i*n:]), ptr(a[i*k:]), ptr(b), k, n, acc)
	}
}

func unitUpdateNEONGo(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	zs, h, ci = zs[:k*t], h[:k], ci[:t]
	_ = zs[row*t+t-1] // row < k
	unitUpdateNEON(ptr(zs), ptr(h), ptr(ci), row, k, t, invHii, lo, hi)
}

// sweepNEONGo is the sweep as a Go loop over the NEON dot product (the
// sequence of single-problem unit updates, without their per-call checks).
func sweepNEONGo(z, h, c, invH []float32, d int, lo, hi float32) {
	sweepDot(dotNEONGo, z, h, c, invH, 0, d, d, lo, hi)
}
