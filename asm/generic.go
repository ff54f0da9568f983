package asm

// The pure-Go reference kernels. They are always compiled, whatever the
// architecture or build tags, so that tests on every machine can compare the
// assembly against them. Products are accumulated in float32 (Dot4x2: float64) in index
// order;
// the assembly may reorder the sums (lanes), which is why tests compare dot
// products within a rounding bound rather than bit for bit.

func dotGeneric(x, y []float32) float32 {
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func axpyGeneric(alpha float32, x, y []float32) {
	for i := range x {
		y[i] += alpha * x[i]
	}
}

func matVecGeneric(y, a []float32, m, n int, x []float32, acc bool) {
	for i := 0; i < m; i++ {
		s := dotGeneric(a[i*n:i*n+n], x)
		if acc {
			y[i] += s
		} else {
			y[i] = s
		}
	}
}

func matTVecGeneric(y, a []float32, m, n int, x []float32, acc bool) {
	if !acc {
		clear(y[:n])
	}
	for i := 0; i < m; i++ {
		axpyGeneric(x[i], a[i*n:i*n+n], y[:n])
	}
}

// clampGeneric defines the clamp semantics every tier must reproduce bit for
// bit: x ← min(max(x, lo), hi) where a NaN element stays NaN (it is neither
// below lo nor above hi), −0 and +0 are left as they are unless the bound
// strictly exceeds them, and lo ≤ hi is required by the caller.
func clampGeneric(x []float32, lo, hi float32) {
	for i, v := range x {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		x[i] = v
	}
}

func gemmGeneric(c, a, b []float32, m, k, n int, acc bool) {
	for i := 0; i < m; i++ {
		ci := c[i*n : i*n+n]
		if !acc {
			clear(ci)
		}
		for p := 0; p < k; p++ {
			axpyGeneric(a[i*k+p], b[p*n:p*n+n], ci)
		}
	}
}

func gemmNTGeneric(c, a, b []float32, m, k, n int, acc bool) {
	for i := 0; i < m; i++ {
		ai := a[i*k : i*k+k]
		for j := 0; j < n; j++ {
			s := dotGeneric(ai, b[j*k:j*k+k])
			if acc {
				c[i*n+j] += s
			} else {
				c[i*n+j] = s
			}
		}
	}
}

func unitUpdateGeneric(zs, h, ci []float32, row, k, t int, invHii, lo, hi float32) {
	zi := zs[row*t : row*t+t]
	for j := 0; j < t; j++ {
		var g float32
		for p := 0; p < k; p++ {
			g += h[p] * zs[p*t+j]
		}
		v := zi[j] - (g-ci[j])*invHii
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		zi[j] = v
	}
}

func sweepGeneric(z, h, c, invH []float32, d int, lo, hi float32) {
	sweepDot(dotGeneric, z, h, c, invH, 0, d, d, lo, hi)
}

// sweepDot runs rows i0 … i1−1 of a sweep (see Sweep) with the given dot
// kernel: exactly the steps UnitUpdate takes for a single problem.
func sweepDot(dot func(x, y []float32) float32, z, h, c, invH []float32, i0, i1, d int, lo, hi float32) {
	z = z[:d]
	for i := i0; i < i1; i++ {
		z[i] = unitStep(z[i], dot(h[i*d:i*d+d], z), c[i], invH[i], lo, hi)
	}
}

// dot4x2Generic is Dot4x2's reference: one chain per entry, in index order.
func dot4x2Generic(a0, a1, a2, a3, b0, b1 []float64) (s [8]float64) {
	a1, a2, a3, b0, b1 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)], b0[:len(a0)], b1[:len(a0)]
	var s00, s01, s10, s11, s20, s21, s30, s31 float64
	for p := range a0 {
		x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
		y0, y1 := b0[p], b1[p]
		s00 += x0 * y0
		s01 += x0 * y1
		s10 += x1 * y0
		s11 += x1 * y1
		s20 += x2 * y0
		s21 += x2 * y1
		s30 += x3 * y0
		s31 += x3 * y1
	}
	return [8]float64{s00, s01, s10, s11, s20, s21, s30, s31}
}

// sparseAxpyGeneric is SparseAxpy's reference: per element one chain over
// k in order (the caller has checked the indices).
func sparseAxpyGeneric(y, w []float32, d int, idx []int32, val []float32) {
	y = y[:d]
	for k, r := range idx {
		axpyGeneric(val[k], w[int(r)*d:int(r)*d+d], y)
	}
}

// nonzerosGeneric is Nonzeros' reference.
func nonzerosGeneric(idx []int32, val []float32, x []float32) int {
	return nonzerosFrom(idx, val, x, 0)
}

// nonzerosFrom is nonzerosGeneric for the elements of a vector from
// position base on (x), whose positions it writes as base + p.
func nonzerosFrom(idx []int32, val []float32, x []float32, base int) int {
	n := 0
	for p, t := range x {
		if t != 0 {
			idx[n], val[n] = int32(base+p), t
			n++
		}
	}
	return n
}
