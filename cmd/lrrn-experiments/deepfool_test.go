package main

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGradientsMatchFiniteDifferences checks the implicit-differentiation
// gradient of the output differences against central differences of the
// converged free state, on random models with relu and hard-sigmoid hidden
// layers (β = [1, 1, 0], γ = 1/8).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, act := range []lrrn.Activation{lrrn.ReLU, lrrn.HardSigmoid} {
		m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{12, 8, 7, 4}, Acts: []lrrn.Activation{act, act, lrrn.Linear},
			Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 3000}, 7)
		require.NoError(t, err)
		for k := range m.B {
			for i := range m.B[k] {
				m.B[k][i] = float32(0.3 * math.Sin(float64(3*k+i)))
			}
		}
		g, err := newGrader(m, 3000)
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(3, 4))
		x := make([]float64, 12)
		for i := range x {
			x[i] = 0.2 + 0.6*rng.Float64()
		}
		o, err := g.eval(x)
		require.NoError(t, err)
		y := argmax(o)
		grads, err := g.gradients(y)
		require.NoError(t, err)
		const h = 1e-3
		for j, gr := range grads {
			if j == y {
				assert.Nil(t, gr)
				continue
			}
			var num, den float64
			for p := range x {
				xp := append([]float64(nil), x...)
				xp[p] += h
				op, err := g.eval(xp)
				require.NoError(t, err)
				xp[p] -= 2 * h
				om, err := g.eval(xp)
				require.NoError(t, err)
				fd := ((op[y] - op[j]) - (om[y] - om[j])) / (2 * h)
				num += (fd - gr[p]) * (fd - gr[p])
				den += fd * fd
			}
			assert.Less(t, math.Sqrt(num/den), 2e-2, "%v, class %d: relative gradient error", act, j)
		}
	}
}

func TestCholeskySolve(t *testing.T) {
	a := []float64{4, 2, 0, 2, 5, 1, 0, 1, 3}
	require.NoError(t, cholesky(a, 3))
	b := []float64{2, 8, 5} // A·(0, 1, 4/3)… check by reconstruction instead
	x := append([]float64(nil), b...)
	cholSolve(a, 3, x)
	A := []float64{4, 2, 0, 2, 5, 1, 0, 1, 3}
	for i := 0; i < 3; i++ {
		var s float64
		for j := 0; j < 3; j++ {
			s += A[i*3+j] * x[j]
		}
		assert.InDelta(t, b[i], s, 1e-12)
	}
	assert.Error(t, cholesky([]float64{1, 2, 2, 1}, 2))
}
