package linalg

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSymEigenvaluesKnown(t *testing.T) {
	// A = Q diag(λ) Qᵀ with a random orthogonal Q from Gram–Schmidt.
	rng := rand.New(rand.NewPCG(1, 2))
	n := 7
	lam := []float64{-3, -0.5, 0, 1e-3, 1, 2.5, 10}
	q := make([]float64, n*n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	for i := 0; i < n; i++ { // orthonormalise rows
		for j := 0; j < i; j++ {
			var d float64
			for k := 0; k < n; k++ {
				d += q[i*n+k] * q[j*n+k]
			}
			for k := 0; k < n; k++ {
				q[i*n+k] -= d * q[j*n+k]
			}
		}
		var nn float64
		for k := 0; k < n; k++ {
			nn += q[i*n+k] * q[i*n+k]
		}
		for k := 0; k < n; k++ {
			q[i*n+k] /= math.Sqrt(nn)
		}
	}
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				a[i*n+j] += q[k*n+i] * lam[k] * q[k*n+j]
			}
		}
	}
	ev := SymEigenvalues(a, n)
	for i := range lam {
		require.InDelta(t, lam[i], ev[i], 1e-12)
	}
}

func TestSingularValuesDiagonal(t *testing.T) {
	w := []float64{3, 0, 0, 0, -4, 0} // 2×3
	sv := SingularValues(w, 2, 3)
	require.InDeltaSlice(t, []float64{4, 3}, sv, 1e-14)
	sv = SingularValues([]float64{3, 0, 0, -4, 0, 0}, 3, 2) // 3×2
	require.InDeltaSlice(t, []float64{4, 3}, sv, 1e-14)
}
