package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

func TestParseObjective(t *testing.T) {
	for _, s := range []string{"onehot", "onehot,scale=3", "margin,eps=1.58", "ce,eps=1.58,temp=0.25,nudge=2,warmup=10", "ce", "ce,eps=2,temp=0.5,est=sym", "margin,nudge=0.5,est=drive", "ce,eps=2,temp=0.5,nudge=0.5,est=sym,passes=8"} {
		o, err := ParseObjective(s)
		require.NoError(t, err, s)
		require.Equal(t, s, o.String())
		back, err := ParseObjective(o.String())
		require.NoError(t, err)
		require.Equal(t, o, back)
	}
	for _, s := range []string{"hinge", "onehot,eps=1", "margin,temp=2", "ce,eps=-1", "ce,eps=NaN", "ce,warmup=-2", "ce,eps", "ce,foo=1", "onehot,scale=0x1p30", "onehot,est=sym", "ce,est=both", "ce,passes=0", "ce,passes=-3", "ce,passes=1.5", "onehot,passes=5", "ce,passes=70000"} {
		_, err := ParseObjective(s)
		require.Error(t, err, s)
	}
	o, _ := ParseObjective("ce,eps=2,warmup=4")
	require.Equal(t, 0.0, o.EpsAt(0, 0))
	require.Equal(t, 1.0, o.EpsAt(2, 0))
	require.Equal(t, 2.0, o.EpsAt(4, 0.5))
	require.Equal(t, 2.0, o.EpsAt(9, 0))
}

// objectiveLoss is Σ_i ℓ_i of the converged free outputs, with κ from the
// current weights, in float64.
func objectiveLoss(t testing.TB, m *lrrn.Model, o Objective, x []float32, y []uint8, n, passes int) float64 {
	s, err := lrrn.NewSolver(m)
	require.NoError(t, err)
	st := s.NewStates(n)
	require.NoError(t, s.Free(nil, x, n, passes, st))
	tg, err := newTargets(m, o)
	require.NoError(t, err)
	tg.prepare()
	dL := m.Sizes[m.L()]
	out := make([]float32, n*dL)
	for i := 0; i < n; i++ {
		copy(out[i*dL:], st.Output(i))
	}
	return tg.set(make([]float32, n*dL), out, y, n, o.Eps)
}

// nudgedGrad returns the trainer's gradient of a nudged objective for one
// batch: coef·Σ_i (∂E(ẑ_i) − ∂E(ž_i)) with the targets t = ž_L − α∇ℓ, plus
// the direct term through κ, with coef = 1/(α γ^{L−1}) so that it
// estimates ∇_θ Σ_i ℓ_i. It also returns v_i = M∇ℓ_i per example (see
// TestNudgedGradient).
func nudgedGrad(t testing.TB, m *lrrn.Model, o Objective, x []float32, y []uint8, n, passes int) (*gradient, []float32) {
	L := m.L()
	dL := m.Sizes[L]
	s, err := lrrn.NewSolver(m)
	require.NoError(t, err)
	free := s.NewStates(n)
	require.NoError(t, s.Free(nil, x, n, passes, free))
	tg, err := newTargets(m, o)
	require.NoError(t, err)
	tg.prepare()
	out := make([]float32, n*dL)
	for i := 0; i < n; i++ {
		copy(out[i*dL:], free.Output(i))
	}
	tgt := make([]float32, n*dL)
	tg.set(tgt, out, y, n, o.Eps)
	cl := s.NewStates(n)
	require.NoError(t, s.Clamped(nil, x, tgt, n, passes, cl))
	coef := float32(1 / (o.nudge() * math.Pow(m.Gamma, float64(L-1))))
	pg := newParamGrad(m, 2, n, true)
	pg.setPhase(0, x, n, free, -1, coef)
	pg.setPhase(1, x, n, cl, 1, coef)
	pg.preparePhase(0)
	pg.preparePhase(1)
	g := newGradient(&m.Config)
	pg.accumulate(g, 0, 1)
	if tg.hasDir {
		for i, v := range tg.direct {
			g.W[L-1][i] += v
		}
	}
	// v = (out − t)/α in the metric M = I + β_{L−1} W_{L−1} W_{L−1}ᵀ
	v := make([]float32, n*dL)
	beta := m.Beta[L-1]
	dh := m.Sizes[L-1]
	W := m.W[L-1]
	for i := 0; i < n; i++ {
		gi := make([]float64, dL)
		for j := range gi {
			gi[j] = (float64(out[i*dL+j]) - float64(tgt[i*dL+j])) / o.nudge()
		}
		for a := 0; a < dL; a++ {
			acc := gi[a]
			for b := 0; b < dL; b++ {
				var wwt float64
				for c := 0; c < dh; c++ {
					wwt += float64(W[a*dh+c]) * float64(W[b*dh+c])
				}
				acc += beta * wwt * gi[b]
			}
			v[i*dL+a] = float32(acc)
		}
	}
	return g, v
}

// TestNudgedGradient checks the derivation in docs/training.md: with the
// clamped target t = ž_L − α∇ℓ(ž_L), the contrastive gradient divided by
// α·γ^{L−1} tends, as γ and α go to 0 (errors O(γ) + O(α)), to
//   - reduced output (β_{L−1} = 0, linear): ∇_θ Σ ℓ, κ's dependence on the
//     output weights included (the direct term);
//   - reconstructing output (β_{L−1} > 0): the gradient of θ ↦ Σ_i v_iᵀ ž_L(x_i; θ)
//     with v_i = M∇ℓ_i held fixed, M = I + β W_{L−1}W_{L−1}ᵀ: the output is
//     moved along the M-preconditioned gradient, a descent direction of ℓ
//     (κ is then a constant).
//
// Finite differences of the exact quantities are the reference.
func TestNudgedGradient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sizes  []int
		beta   []float64
		obj    Objective
		gammas []float64 // α shrinks with γ: α = Nudge·γ/γ_0
		small  float64
	}{
		{"ce reduced", []int{6, 5, 4}, []float64{1, 0}, Objective{Loss: CrossEntropy, Eps: 0.3, Temp: 0.5, Nudge: 0.05}, []float64{1e-1, 1e-2}, 5e-2},
		{"ce reduced eps0", []int{6, 5, 4}, []float64{1, 0}, Objective{Loss: CrossEntropy, Temp: 0.5, Nudge: 0.05}, []float64{1e-1, 1e-2}, 5e-2},
		{"margin reduced", []int{6, 5, 4}, []float64{1, 0}, Objective{Loss: Margin, Eps: 0.5, Nudge: 0.05}, []float64{1e-1, 1e-2}, 5e-2},
		{"ce reconstructing output", []int{6, 5, 4}, []float64{1, 1}, Objective{Loss: CrossEntropy, Eps: 0.3, Temp: 0.5, Nudge: 0.05}, []float64{1e-1, 1e-2}, 5e-2},
		{"ce 3 layers reduced", []int{6, 5, 5, 4}, []float64{1, 1, 0}, Objective{Loss: CrossEntropy, Eps: 0.3, Nudge: 0.05}, []float64{3e-2}, 5e-2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n, passes = 3, 400
			x := randInputs(n, tc.sizes[0], rand.New(rand.NewPCG(31, 32)))
			y := []uint8{0, 1, 3}
			var errs []float64
			for _, gamma := range tc.gammas {
				m := smallModel(t, tc.sizes, lrrn.ReLU, tc.beta, gamma, 7)
				if tc.beta[len(tc.beta)-1] != 0 {
					m.Acts[m.L()-1] = lrrn.Linear
				}
				obj := tc.obj
				obj.Nudge *= gamma / tc.gammas[0]
				g, v := nudgedGrad(t, m, obj, x, y, n, passes)
				var f func() float64
				if m.ReducedOutput() {
					f = func() float64 { return objectiveLoss(t, m, obj, x, y, n, passes) }
				} else {
					f = func() float64 {
						s, err := lrrn.NewSolver(m)
						require.NoError(t, err)
						st := s.NewStates(n)
						require.NoError(t, s.Free(nil, x, n, passes, st))
						var acc float64
						for i := 0; i < n; i++ {
							for j, z := range st.Output(i) {
								acc += float64(v[i*len(st.Output(i))+j]) * float64(z)
							}
						}
						return acc
					}
				}
				fd := fdGrad(m, 1e-3, f)
				e := relErr(flatGrad(g), fd)
				t.Logf("γ=%g, α=%g: relative error %.3g", gamma, obj.Nudge, e)
				errs = append(errs, e)
			}
			// O(γ) + O(α): 10× smaller γ and α, at least 4× smaller error.
			// Float32 states stop the 3-layer case at γ = 0.03 (the state
			// difference is O(αγ²)): there only the bound is checked.
			if len(errs) > 1 {
				require.Less(t, errs[len(errs)-1], errs[0]*tc.gammas[len(errs)-1]/tc.gammas[0]*2.5, "the error must shrink with γ and α: %v", errs)
			}
			require.Less(t, errs[len(errs)-1], tc.small)
		})
	}
}

// TestNudgedTargetsDirection: the margin objective's targets raise the
// label's output and lower exactly the classes whose margin is short of
// κ; cross-entropy lowers every other class; onehot writes Scale·onehot.
func TestNudgedTargetsDirection(t *testing.T) {
	m := smallModel(t, []int{6, 5, 4}, lrrn.ReLU, []float64{1, 1}, 0.125, 3)
	out := []float32{2, 1.5, -1, 0.9}
	y := []uint8{0}
	tgt := make([]float32, 4)
	// β = [1, 1]: κ = √2·ε for every class; ε = 0.5 → κ ≈ 0.707
	tg, err := newTargets(m, Objective{Loss: Margin, Eps: 0.5, Nudge: 0.1})
	require.NoError(t, err)
	l := tg.set(tgt, out, y, 1, 0.5)
	require.InDelta(t, math.Sqrt2*0.5-0.5, l, 1e-6) // only class 1 is short: 0.707 − 0.5
	require.InDelta(t, 2.1, tgt[0], 1e-6)
	require.InDelta(t, 1.4, tgt[1], 1e-6)
	require.Equal(t, out[2], tgt[2])
	require.Equal(t, out[3], tgt[3])

	tg, err = newTargets(m, Objective{Loss: CrossEntropy, Eps: 0.5, Nudge: 0.1})
	require.NoError(t, err)
	tg.set(tgt, out, y, 1, 0.5)
	require.Greater(t, tgt[0], out[0])
	for j := 1; j < 4; j++ {
		require.Less(t, tgt[j], out[j])
	}

	tg, err = newTargets(m, Objective{Scale: 3})
	require.NoError(t, err)
	tg.set(tgt, nil, []uint8{2}, 1, 0)
	require.Equal(t, []float32{0, 0, 3, 0}, tgt)

	// a β = 0 hidden layer has no Lipschitz bound for κ
	m3 := smallModel(t, []int{6, 5, 5, 4}, lrrn.ReLU, []float64{0, 1, 0}, 0.125, 3)
	_, err = newTargets(m3, Objective{Loss: Margin, Eps: 0.5})
	require.ErrorContains(t, err, "layer 1 has β = 0")
}

// TestNudgedTrainingResumesExactly: resuming mid-epoch is bit-exact with
// a nudged objective, an ε warm-up and the cosine schedule.
func TestNudgedTrainingResumesExactly(t *testing.T) {
	m0, d := tinySetup(t, 5)
	m0.Beta[len(m0.Beta)-1] = 1
	m0.Acts[len(m0.Acts)-1] = lrrn.Linear
	o := tinyOptions(2)
	o.Objective = Objective{Loss: CrossEntropy, Eps: 0.3, Temp: 0.5, Warmup: 2}
	o.Schedule, o.Epochs = Cosine, 4
	full := m0.Clone()
	trFull, err := New(full, d, o)
	require.NoError(t, err)
	var wantObj []float64 // the mean objective loss of each epoch
	for e := 0; e < 4; e++ {
		_, err := trFull.RunEpoch(context.Background(), nil)
		require.NoError(t, err)
		wantObj = append(wantObj, trFull.LastEpochObjective())
	}
	trFull.Close()

	part := m0.Clone()
	tr, err := New(part, d, o)
	require.NoError(t, err)
	for e := 0; e < 2; e++ {
		_, err := tr.RunEpoch(context.Background(), nil)
		require.NoError(t, err)
	}
	for i := 0; i < 5; i++ {
		_, err := tr.Step()
		require.NoError(t, err)
	}
	st := stateOf(tr, "tiny", nil)
	tr.Close()
	o2, err := st.Options()
	require.NoError(t, err)
	require.Equal(t, o.Objective, o2.Objective)
	require.Equal(t, o.Schedule, o2.Schedule)
	require.Equal(t, o.Epochs, o2.Epochs)
	tr2, err := New(part, d, o2)
	require.NoError(t, err)
	require.NoError(t, tr2.Resume(st))
	for {
		e, _ := tr2.Position()
		if e >= 4 {
			break
		}
		_, err := tr2.Step()
		require.NoError(t, err)
		if e2, b := tr2.Position(); e2 > e && b == 0 {
			// the epoch the checkpoint interrupted reports the mean over
			// all its examples, as the uninterrupted run does
			require.Equal(t, wantObj[e], tr2.LastEpochObjective(), "epoch %d", e+1)
		}
	}
	tr2.Close()
	requireSameWeights(t, full, part)
}

// TestDrivenGradient checks the driven estimators (docs/training.md,
// "Driven phases") through the trainer's own step: the batch gradient
// divided by α·γ^{L−1}/n is ∇_θ Σ_i ℓ_i (κ is a constant with a
// reconstructing output), with an error that shrinks with α alone — at
// γ = 1/2, where the clamped estimator carries an O(γ) error — O(α) for
// Drive and O(α²) for Symmetric. Finite differences of Σ_i ℓ_i of the
// converged free outputs are the reference.
func TestDrivenGradient(t *testing.T) {
	const n, passes, gamma = 4, 400, 0.5
	sizes := []int{6, 5, 4}
	rng := rand.New(rand.NewPCG(41, 42))
	data := &idx.Labelled{Images: idx.Images{N: n, Rows: 1, Cols: sizes[0], Pixels: randInputs(n, sizes[0], rng)},
		Labels: []uint8{0, 1, 3, 2}}
	errAt := func(est Estimator, alpha float64, workers int) float64 {
		m := smallModel(t, sizes, lrrn.ReLU, []float64{1, 1}, gamma, 7)
		obj := Objective{Loss: CrossEntropy, Eps: 0.3, Temp: 0.5, Nudge: alpha, Est: est}
		ref := m.Clone()
		tr, err := New(m, data, Options{Mode: Supervised, LR: 1e-9, Batch: n, Passes: passes, Seed: 1,
			Workers: workers, Convention: DefaultConvention, Objective: obj})
		require.NoError(t, err)
		defer tr.Close()
		_, err = tr.Step()
		require.NoError(t, err)
		g := flatGrad(tr.grad)
		scale := float64(n) / (alpha * gamma)
		for i := range g {
			g[i] *= scale
		}
		fd := fdGrad(ref, 1e-3, func() float64 { return objectiveLoss(t, ref, obj, data.Pixels, data.Labels, n, passes) })
		return relErr(g, fd)
	}
	for _, workers := range []int{1, 2} {
		d1, d2 := errAt(Drive, 0.2, workers), errAt(Drive, 0.02, workers)
		s1, s2 := errAt(Symmetric, 0.2, workers), errAt(Symmetric, 0.02, workers)
		t.Logf("workers %d: drive α 0.2 → 0.02: %.3g → %.3g; sym: %.3g → %.3g", workers, d1, d2, s1, s2)
		require.Less(t, d2, d1/4, "Drive: O(α)")
		require.Less(t, d2, 2e-2)
		require.Less(t, s1, d1/4, "Symmetric cancels the O(α) term")
		require.Less(t, s2, 2e-3)
	}
}

// TestSecondPhasePasses: Objective.Passes sets the passes of the phases
// that start from the free states: equal to Options.Passes it is the
// default bit for bit, and with few passes the symmetric estimate is
// further from the converged one (computed with 400 passes everywhere)
// than with many.
func TestSecondPhasePasses(t *testing.T) {
	const n, gamma = 4, 0.5
	sizes := []int{6, 5, 4}
	rng := rand.New(rand.NewPCG(43, 44))
	data := &idx.Labelled{Images: idx.Images{N: n, Rows: 1, Cols: sizes[0], Pixels: randInputs(n, sizes[0], rng)},
		Labels: []uint8{0, 1, 3, 2}}
	grad := func(passes, second int) []float64 {
		m := smallModel(t, sizes, lrrn.ReLU, []float64{1, 1}, gamma, 7)
		obj := Objective{Loss: CrossEntropy, Eps: 0.3, Temp: 0.5, Nudge: 0.1, Est: Symmetric, Passes: second}
		tr, err := New(m, data, Options{Mode: Supervised, LR: 1e-9, Batch: n, Passes: passes, Seed: 1,
			Workers: 1, Convention: DefaultConvention, Objective: obj})
		require.NoError(t, err)
		defer tr.Close()
		_, err = tr.Step()
		require.NoError(t, err)
		return flatGrad(tr.grad)
	}
	require.Equal(t, grad(30, 0), grad(30, 30), "passes = Options.Passes is the default")
	ref := grad(400, 0)
	few, many := relErr(grad(400, 1), ref), relErr(grad(400, 100), ref)
	t.Logf("second phases of 1 / 100 passes after a 400-pass free phase: relative error %.3g / %.3g", few, many)
	require.Greater(t, few, 10*many, "the second phases' passes are not used")
	require.Less(t, many, 1e-3)
}

// TestDrivenNeedsReconstructingOutput: the driven estimators leave the
// output free, which the reduced form eliminates.
func TestDrivenNeedsReconstructingOutput(t *testing.T) {
	m := smallModel(t, []int{6, 5, 4}, lrrn.ReLU, []float64{1, 0}, 0.5, 7)
	_, err := newTargets(m, Objective{Loss: CrossEntropy, Eps: 0.3, Est: Symmetric})
	require.ErrorContains(t, err, "reconstructing output layer")
	require.Error(t, Objective{Est: Drive}.Validate(), "onehot has no nudge to drive")
}
