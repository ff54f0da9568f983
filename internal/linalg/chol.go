package linalg

// CholeskySolve solves (L Lᵀ) x = b in place (b becomes x) with the factor
// L that Cholesky left in the lower triangle of l (the upper one is not
// read).
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
