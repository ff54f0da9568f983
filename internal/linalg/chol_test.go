package linalg

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCholeskySolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 17} {
		// A = BᵀB + I: symmetric positive definite.
		b := make([]float64, n*n)
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				for k := 0; k < n; k++ {
					a[i*n+j] += b[k*n+i] * b[k*n+j]
				}
			}
			a[i*n+i]++
		}
		l := append([]float64(nil), a...)
		require.NoError(t, Cholesky(l, n, nil))
		rhs := make([]float64, n)
		for i := range rhs {
			rhs[i] = rng.NormFloat64()
		}
		x := append([]float64(nil), rhs...)
		CholeskySolve(l, n, x)
		for i := 0; i < n; i++ {
			var s float64
			for j := 0; j < n; j++ {
				s += a[i*n+j] * x[j]
			}
			// backward stable: residual of order n·u·‖A‖‖x‖ (‖A‖ ≲ 4n here)
			assert.InDelta(t, rhs[i], s, 1e-12*float64(n*n), "n %d row %d", n, i)
		}
	}
	assert.ErrorContains(t, Cholesky([]float64{1, 2, 2, 1}, 2, nil), "pivot 1")
	assert.Error(t, Cholesky([]float64{0}, 1, nil))
}

// BenchmarkCholesky factors H-sized matrices (N = 2·256+10 and 2·1024+10,
// the exact model's free problem of 784-w-w-10 with the output a block).
func BenchmarkCholesky(b *testing.B) {
	for _, n := range []int{522, 2058} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			a := make([]float64, n*n)
			rng := rand.New(rand.NewPCG(1, 1))
			for i := 0; i < n; i++ {
				for j := 0; j <= i; j++ {
					v := 0.01 * rng.NormFloat64()
					a[i*n+j], a[j*n+i] = v, v
				}
				a[i*n+i] = float64(n) * 0.05
			}
			l := make([]float64, n*n)
			for b.Loop() {
				copy(l, a)
				require.NoError(b, Cholesky(l, n, nil))
			}
			b.ReportMetric(float64(n)*float64(n)*float64(n)/3/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFlop/s")
		})
	}
}
