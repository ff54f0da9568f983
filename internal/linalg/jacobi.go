// Package linalg holds dense float64 linear algebra. The fast kernels of
// the per-model work (dense.go: Gram products, the Cholesky factorisation
// that verify certifies with and verify/attack solves with, Lanczos
// estimates) are blocked, parallel and deterministic. The references of
// the tests (jacobi.go: symmetric eigenvalues and singular values by the
// cyclic Jacobi method) favour being obviously correct over speed.
package linalg

import (
	"math"
	"sort"
)

// SymEigenvalues returns the eigenvalues of the symmetric n×n matrix a
// (row-major; only its symmetric part is used), in ascending order, by
// cyclic Jacobi rotations in float64. a is not modified.
func SymEigenvalues(a []float64, n int) []float64 {
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m[i*n+j] = 0.5 * (a[i*n+j] + a[j*n+i])
		}
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off, diag float64
		for i := 0; i < n; i++ {
			diag += m[i*n+i] * m[i*n+i]
			for j := i + 1; j < n; j++ {
				off += m[i*n+j] * m[i*n+j]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				apq := m[p*n+q]
				if apq == 0 {
					continue
				}
				app, aqq := m[p*n+p], m[q*n+q]
				theta := (aqq - app) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ { // rotate columns p and q
					mkp, mkq := m[k*n+p], m[k*n+q]
					m[k*n+p] = c*mkp - s*mkq
					m[k*n+q] = s*mkp + c*mkq
				}
				for k := 0; k < n; k++ { // rotate rows p and q
					mpk, mqk := m[p*n+k], m[q*n+k]
					m[p*n+k] = c*mpk - s*mqk
					m[q*n+k] = s*mpk + c*mqk
				}
			}
		}
	}
	ev := make([]float64, n)
	for i := range ev {
		ev[i] = m[i*n+i]
	}
	sort.Float64s(ev)
	return ev
}

// SingularValues returns the singular values of the m×n matrix w
// (row-major), descending, as square roots of the eigenvalues of wᵀw (or
// wwᵀ, whichever is smaller), computed in float64.
func SingularValues(w []float64, m, n int) []float64 {
	var g []float64
	var k int
	if m <= n { // w wᵀ, m×m
		k = m
		g = make([]float64, m*m)
		for i := 0; i < m; i++ {
			for j := 0; j < m; j++ {
				var s float64
				for p := 0; p < n; p++ {
					s += w[i*n+p] * w[j*n+p]
				}
				g[i*m+j] = s
			}
		}
	} else { // wᵀ w, n×n
		k = n
		g = make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < m; p++ {
					s += w[p*n+i] * w[p*n+j]
				}
				g[i*n+j] = s
			}
		}
	}
	ev := SymEigenvalues(g, k)
	sv := make([]float64, k)
	for i, v := range ev {
		sv[k-1-i] = math.Sqrt(math.Max(v, 0))
	}
	return sv
}
