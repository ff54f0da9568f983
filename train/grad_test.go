package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// smallModel returns a random model with hidden activations act and a
// linear output, Glorot weights scaled by 1.5 and random biases.
func smallModel(t testing.TB, sizes []int, act lrrn.Activation, beta []float64, gamma float64, seed uint64) *lrrn.Model {
	L := len(sizes) - 1
	acts := make([]lrrn.Activation, L)
	for k := range acts {
		acts[k] = act
	}
	acts[L-1] = lrrn.Linear
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: gamma, Passes: 20}, seed)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(seed, 99))
	for k := range m.W {
		for i := range m.W[k] {
			m.W[k][i] *= 1.5
		}
		for i := range m.B[k] {
			m.B[k][i] = float32(0.3 * rng.NormFloat64())
		}
	}
	return m
}

func randInputs(n, d int, rng *rand.Rand) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	return x
}

// batchGrad returns coef·Σ_i (∂E(ẑ_i) − ∂E(ž_i)) (supervised) or
// coef·Σ_i ∂E(ž_i) (unsupervised) as computed by paramGrad.
func batchGrad(t testing.TB, m *lrrn.Model, x, tgt []float32, n, passes int, supervised bool, coef float32) *gradient {
	s, err := lrrn.NewSolver(m)
	require.NoError(t, err)
	free := s.NewStates(n)
	require.NoError(t, s.Free(nil, x, n, passes, free))
	phases := 1
	if supervised {
		phases = 2
	}
	pg := newParamGrad(m, phases, n, supervised)
	if supervised {
		cl := s.NewStates(n)
		require.NoError(t, s.Clamped(nil, x, tgt, n, passes, cl))
		pg.setPhase(0, x, n, free, -1, coef)
		pg.setPhase(1, x, n, cl, 1, coef)
		pg.preparePhase(0)
		pg.preparePhase(1)
	} else {
		pg.setPhase(0, x, n, free, 1, coef)
		pg.preparePhase(0)
	}
	g := newGradient(&m.Config)
	pg.accumulate(g, 0, 2)
	pg.accumulate(g, 1, 2)
	return g
}

// params lists pointers to every weight and bias of m.
func params(m *lrrn.Model) []*float32 {
	var out []*float32
	for k := range m.W {
		for i := range m.W[k] {
			out = append(out, &m.W[k][i])
		}
		for i := range m.B[k] {
			out = append(out, &m.B[k][i])
		}
	}
	return out
}

func flatGrad(g *gradient) []float64 {
	var out []float64
	for k := range g.W {
		for _, v := range g.W[k] {
			out = append(out, float64(v))
		}
		for _, v := range g.B[k] {
			out = append(out, float64(v))
		}
	}
	return out
}

// fdGrad returns the central finite-difference gradient of f over every
// parameter of m, with step h.
func fdGrad(m *lrrn.Model, h float64, f func() float64) []float64 {
	ps := params(m)
	out := make([]float64, len(ps))
	for i, p := range ps {
		v := *p
		*p = float32(float64(v) + h)
		hp := float64(*p) - float64(v)
		fp := f()
		*p = float32(float64(v) - h)
		hm := float64(v) - float64(*p)
		fm := f()
		*p = v
		out[i] = (fp - fm) / (hp + hm)
	}
	return out
}

func relErr(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}

// outputLoss is Σ_i ½‖t_i − ž_L(x_i)‖² of the converged free states, in float64.
func outputLoss(t testing.TB, m *lrrn.Model, x, tgt []float32, n, passes int) float64 {
	s, err := lrrn.NewSolver(m)
	require.NoError(t, err)
	st := s.NewStates(n)
	require.NoError(t, s.Free(nil, x, n, passes, st))
	var c float64
	for i := 0; i < n; i++ {
		out := st.Output(i)
		for j, v := range out {
			d := float64(tgt[i*len(out)+j]) - float64(v)
			c += 0.5 * d * d
		}
	}
	return c
}

// TestContrastiveGradientApproachesBackprop checks docs/math.md's claim
// that ∇J = (∂E(ẑ) − ∂E(ž))/γ^{L−1} tends to the gradient of
// ½‖t − ž_L(x)‖² (the free output) with O(γ) error: the relative error is
// small at small γ and shrinks with γ. Float32 states limit how small γ can
// go: the difference of the two states is O(γ^{L−1}), so the three-layer
// network stops at γ = 1e-2 and the two-layer one goes to 1e-3.
func TestContrastiveGradientApproachesBackprop(t *testing.T) {
	cases := []struct {
		name   string
		sizes  []int
		beta   []float64
		act    lrrn.Activation
		gammas []float64
		small  float64 // bound of the relative error at the smallest γ
	}{
		{"2-layer linear", []int{6, 5, 3}, []float64{1, 0}, lrrn.Linear, []float64{1e-1, 1e-2, 1e-3}, 5e-3},
		{"2-layer relu", []int{6, 5, 3}, []float64{1, 0}, lrrn.ReLU, []float64{1e-1, 1e-2, 1e-3}, 5e-3},
		{"3-layer relu", []int{6, 5, 4, 3}, []float64{1, 1, 0}, lrrn.ReLU, []float64{1e-1, 3e-2, 1e-2}, 3e-2},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n, passes = 3, 400
			x := randInputs(n, tc.sizes[0], rng)
			dL := tc.sizes[len(tc.sizes)-1]
			tgt := make([]float32, n*dL)
			for i := 0; i < n; i++ {
				tgt[i*dL+i%dL] = 1
			}
			var errs []float64
			for _, gamma := range tc.gammas {
				m := smallModel(t, tc.sizes, tc.act, tc.beta, gamma, 5)
				L := m.L()
				coef := float32(1 / math.Pow(gamma, float64(L-1)))
				g := flatGrad(batchGrad(t, m, x, tgt, n, passes, true, coef))
				fd := fdGrad(m, 1e-3, func() float64 { return outputLoss(t, m, x, tgt, n, passes) })
				e := relErr(g, fd)
				t.Logf("γ=%g: relative error %.3g", gamma, e)
				errs = append(errs, e)
			}
			// O(γ): the error shrinks at least half as fast as γ does.
			for i := 1; i < len(errs); i++ {
				ratio := tc.gammas[i] / tc.gammas[i-1]
				require.Less(t, errs[i], 2*ratio*errs[i-1], "error must shrink like γ: γ=%v, errors %v", tc.gammas, errs)
			}
			require.Less(t, errs[len(errs)-1], tc.small, "relative error at γ=%g", tc.gammas[len(tc.gammas)-1])
		})
	}
}

// TestUnsupervisedGradientMatchesFreeEnergy checks ∂_θE(ž) against finite
// differences of F(θ) = Σ_i min_z E(z; x_i) (Danskin's theorem).
func TestUnsupervisedGradientMatchesFreeEnergy(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range []struct {
		name  string
		sizes []int
		beta  []float64
		act   lrrn.Activation
		gamma float64
	}{
		{"linear β=[1,1]", []int{7, 5, 4}, []float64{1, 1}, lrrn.Linear, 0.5},
		{"relu β=[1,1]", []int{7, 5, 4}, []float64{1, 1}, lrrn.ReLU, 0.125},
		{"hardsigmoid β=[1,0.5]", []int{7, 5, 4}, []float64{1, 0.5}, lrrn.HardSigmoid, 0.125},
		{"relu β=[1,1,0] with output", []int{7, 5, 4, 3}, []float64{1, 1, 0}, lrrn.ReLU, 0.125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n, passes = 3, 600
			m := smallModel(t, tc.sizes, tc.act, tc.beta, tc.gamma, 9)
			if tc.act != lrrn.Linear { // constrained output as well
				m.Acts[m.L()-1] = tc.act
			}
			x := randInputs(n, tc.sizes[0], rng)
			g := flatGrad(batchGrad(t, m, x, nil, n, passes, false, 1))
			F := func() float64 {
				s, err := lrrn.NewSolver(m)
				require.NoError(t, err)
				st := s.NewStates(n)
				require.NoError(t, s.Free(nil, x, n, passes, st))
				var f float64
				for i := 0; i < n; i++ {
					z := make([][]float32, m.L()+1)
					for k := 1; k <= m.L(); k++ {
						z[k] = st.Layer(k, i)
					}
					f += m.Energy(x[i*m.Sizes[0]:(i+1)*m.Sizes[0]], z)
				}
				return f
			}
			fd := fdGrad(m, 1e-3, F)
			e := relErr(g, fd)
			t.Logf("relative error %.3g", e)
			require.Less(t, e, 2e-3)
		})
	}
}
