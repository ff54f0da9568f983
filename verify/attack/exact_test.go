package attack

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomModel returns a small random model with biases, for the given
// activations and β (γ = 1/8 unless given).
func randomModel(t testing.TB, sizes []int, acts []lrrn.Activation, beta []float64, gamma float64, seed uint64) *lrrn.Model {
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: gamma, Passes: 20}, seed)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(seed, 11))
	for k := range m.B {
		for i := range m.B[k] {
			m.B[k][i] = float32(0.3 * rng.NormFloat64())
		}
	}
	return m
}

var (
	R, H, Lin = lrrn.ReLU, lrrn.HardSigmoid, lrrn.Linear
)

// variants: reduced outputs (β_{L−1} = 0), non-reduced linear outputs
// (β_{L−1} > 0, the output a block: issue 12's certified-robust models),
// a box output, one layer.
func variants(t testing.TB) []*lrrn.Model {
	return []*lrrn.Model{
		randomModel(t, []int{12, 8, 7, 4}, []lrrn.Activation{R, R, Lin}, []float64{1, 1, 0}, 0.125, 1),
		randomModel(t, []int{12, 8, 7, 4}, []lrrn.Activation{H, H, Lin}, []float64{1, 1, 0}, 0.125, 2),
		randomModel(t, []int{12, 8, 7, 4}, []lrrn.Activation{R, R, Lin}, []float64{1, 1, 1}, 0.125, 3),
		randomModel(t, []int{12, 8, 7, 4}, []lrrn.Activation{H, R, Lin}, []float64{0.25, 4, 1}, 0.5, 4),
		randomModel(t, []int{12, 9, 5}, []lrrn.Activation{R, H}, []float64{1, 2}, 1, 5),
		randomModel(t, []int{12, 5}, []lrrn.Activation{Lin}, []float64{0}, 1, 6),
		randomModel(t, []int{12, 5}, []lrrn.Activation{Lin}, []float64{1}, 1, 7),
	}
}

// TestHessianMatchesGradient: H (assembled from lrrn.Model.HessianBlock
// and the weights) equals the Hessian of the gradient written from the
// energy's definition, probed column by column (the energy is quadratic,
// so a column is Gradient(e_j) − Gradient(0) up to rounding). Both are
// float64 sums of at most d+2 terms of float32 weight products, so they
// agree within 2(d+8)u times the sum of the terms' magnitudes, which
// (1+β)(1+max_k‖W_k‖²_max-row) bounds below.
func TestHessianMatchesGradient(t *testing.T) {
	for mi, m := range variants(t) {
		e, err := NewExact(m)
		require.NoError(t, err)
		N := e.Size()
		x := make([]float64, m.Sizes[0])
		z := make([]float64, N)
		g0 := e.Gradient(x, z)
		var mag float64 // bound of the terms' magnitudes per entry
		for k := range m.W {
			for i := 0; i < m.Sizes[k+1]; i++ {
				var s float64
				for j := 0; j < m.Sizes[k]; j++ {
					w := float64(m.W[k][i*m.Sizes[k]+j])
					s += w * w
				}
				mag = max(mag, s)
			}
		}
		d := 0
		for _, v := range m.Sizes {
			d = max(d, v)
		}
		bmax := 0.0
		for _, b := range m.Beta {
			bmax = max(bmax, b)
		}
		tol := 2 * float64(d+8) * 0x1p-53 * (1 + bmax) * (1 + float64(d)*mag)
		for j := 0; j < N; j++ {
			z[j] = 1
			g := e.Gradient(x, z)
			z[j] = 0
			for i := 0; i < N; i++ {
				require.InDelta(t, g[i]-g0[i], e.Hessian()[i*N+j], tol, "model %d entry (%d,%d)", mi, i, j)
			}
		}
		if N > 0 {
			assert.Greater(t, e.LamMin(), 0.0, "model %d", mi)
			// c(x) = −∇E(0) from the definition, within the same bound.
			for i := range x {
				x[i] = float64(i%5) - 1.5
			}
			c, g := e.rhs(x), e.Gradient(x, make([]float64, N))
			for i := range c {
				require.InDelta(t, -g[i], c[i], tol*(1+float64(len(x))*2.5), "model %d: c_%d", mi, i)
			}
		}
	}
}

// TestSolveReachesMinimiser: from a cold start the solution satisfies the
// optimality conditions of the definition's gradient, and its bound is
// small; warm and cold starts agree within their bounds.
func TestSolveReachesMinimiser(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for mi, m := range variants(t) {
		e, err := NewExact(m)
		require.NoError(t, err)
		if e.Size() == 0 {
			continue
		}
		lo, hi := e.Bounds()
		for trial := 0; trial < 5; trial++ {
			x := make([]float64, m.Sizes[0])
			for i := range x {
				x[i] = rng.Float64()
			}
			z, acc := e.Solve(x, nil)
			require.Less(t, acc, 1e-9, "model %d", mi)
			g := e.Gradient(x, z)
			for i, v := range g {
				require.True(t, z[i] >= lo[i] && z[i] <= hi[i])
				if (z[i] <= lo[i] && v > 0) || (z[i] >= hi[i] && v < 0) {
					continue
				}
				assert.InDelta(t, 0, v, 1e-9, "model %d unit %d", mi, i)
			}
			warm := make([]float64, len(z))
			for i := range warm {
				warm[i] = z[i] + 0.1*rng.NormFloat64()
			}
			z2, acc2 := e.Solve(x, warm)
			var d float64
			for i := range z {
				d += (z[i] - z2[i]) * (z[i] - z2[i])
			}
			assert.LessOrEqual(t, math.Sqrt(d), acc+acc2+1e-15, "model %d", mi)
		}
	}
}

// TestGradientsMatchFiniteDifferences checks the implicit-differentiation
// input gradient of every output difference o_y − o_j against central
// differences of the exact minimiser, on reduced and non-reduced models.
// On a face the minimiser is affine in x, so a difference step that stays
// on the face is exact up to the solver's error: with h = 1e-5 and errors
// below 1e-10 the difference quotient is within 2e-10/h·‖w‖ = 1e-4 of it
// per coordinate (relative error at most 1e-3 over the gradient).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	checked := 0
	for mi, m := range variants(t) {
		e, err := NewExact(m)
		require.NoError(t, err)
		a := e.NewAttacker(Options{})
		for trial := 0; trial < 3; trial++ {
			x := make([]float64, m.Sizes[0])
			for i := range x {
				x[i] = 0.2 + 0.6*rng.Float64()
			}
			p := a.Eval(x, nil)
			require.Less(t, p.Acc, 1e-10)
			y := argmax(p.Out)
			const h = 1e-5
			for j := range p.Out {
				if j == y {
					continue
				}
				gr := a.MarginGrad(p, y, j)
				require.NotNil(t, gr)
				var num, den float64
				sameFace := true
				for q := range x {
					xp := append([]float64(nil), x...)
					xp[q] += h
					op := a.Eval(xp, p.Z)
					xp[q] -= 2 * h
					om := a.Eval(xp, p.Z)
					sameFace = sameFace && faceOf(e, op.Z) == faceOf(e, p.Z) && faceOf(e, om.Z) == faceOf(e, p.Z)
					fd := ((op.Out[y] - op.Out[j]) - (om.Out[y] - om.Out[j])) / (2 * h)
					num += (fd - gr[q]) * (fd - gr[q])
					den += fd * fd
				}
				if !sameFace || den == 0 {
					continue // a unit crossed a bound within h
				}
				checked++
				assert.Less(t, math.Sqrt(num/den), 1e-3, "model %d (%v β=%v), class %d: relative gradient error", mi, m.Acts, m.Beta, j)
			}
		}
	}
	assert.Greater(t, checked, 50, "too few gradients checked")
}

func faceOf(e *Exact, z []float64) string {
	lo, hi := e.Bounds()
	b := make([]byte, len(z))
	for i, v := range z {
		switch {
		case v <= lo[i]:
			b[i] = 'l'
		case v >= hi[i]:
			b[i] = 'h'
		default:
			b[i] = 'f'
		}
	}
	return string(b)
}

func TestNewExactRefusesHugeModels(t *testing.T) {
	m, err := lrrn.New(lrrn.Config{Sizes: []int{2, MaxVariables, 2}, Acts: []lrrn.Activation{R, Lin}, Beta: []float64{1, 1}, Gamma: 0.5, Passes: 1})
	require.NoError(t, err)
	_, err = NewExact(m)
	assert.ErrorContains(t, err, "4098 variable units")
}
