package linalg

import (
	"fmt"
	"math"
)

// Cholesky factors the symmetric positive definite n×n matrix a
// (row-major, only the lower triangle is read) in place: on return the
// lower triangle holds L with a = L Lᵀ (the strict upper triangle is left
// as it was). It fails, naming the pivot, when a is not numerically
// positive definite.
func Cholesky(a []float64, n int) error {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j]
		s := a[j*n+j]
		for _, v := range rj {
			s -= v * v
		}
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("linalg: matrix not positive definite (pivot %d of %d: %g)", j, n, s)
		}
		d := math.Sqrt(s)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			ri := a[i*n : i*n+j]
			s := a[i*n+j]
			for k, v := range ri {
				s -= v * rj[k]
			}
			a[i*n+j] = s / d
		}
	}
	return nil
}

// CholeskySolve solves (L Lᵀ) x = b in place (b becomes x) with the factor
// L that Cholesky left in l.
func CholeskySolve(l []float64, n int, b []float64) { CholeskySolveStride(l, n, n, b) }

// CholeskySolveStride is CholeskySolve for a factor whose rows are stride
// apart (stride ≥ n): row i of L starts at l[i·stride].
func CholeskySolveStride(l []float64, stride, n int, b []float64) {
	for i := 0; i < n; i++ {
		s := b[i]
		for k, v := range l[i*stride : i*stride+i] {
			s -= v * b[k]
		}
		b[i] = s / l[i*stride+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*stride+i] * b[k]
		}
		b[i] = s / l[i*stride+i]
	}
}
