package attack

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMinAdversarialAffine: on models whose output is affine in x (one
// linear layer; two linear layers with β > 0, where the output is a BCD
// block) the smallest adversarial perturbation is known:
// min_j (o_y − o_j)/‖a_y − a_j‖ with a_i the rows of the output's
// Jacobian, here measured by unit differences of exact solves. The search
// must find it (DeepFool is exact on an affine map; the bisection
// resolves it to 2⁻³⁰ of the segment) and never report less.
func TestMinAdversarialAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for mi, m := range []*lrrn.Model{
		randomModel(t, []int{10, 5}, []lrrn.Activation{Lin}, []float64{0}, 1, 21),
		randomModel(t, []int{10, 6, 4}, []lrrn.Activation{Lin, Lin}, []float64{1, 1}, 0.125, 22),
		randomModel(t, []int{10, 6, 4}, []lrrn.Activation{Lin, Lin}, []float64{1, 0}, 0.125, 23),
	} {
		e, err := NewExact(m)
		require.NoError(t, err)
		d0, dL := m.Sizes[0], m.Sizes[m.L()]
		x0 := make([]float64, d0)
		z0, _ := e.Solve(x0, nil)
		o0 := e.Output(x0, z0)
		jac := make([][]float64, d0) // jac[p][i] = ∂o_i/∂x_p
		for p := range jac {
			x := make([]float64, d0)
			x[p] = 1
			z, _ := e.Solve(x, nil)
			o := e.Output(x, z)
			jac[p] = make([]float64, dL)
			for i := range o {
				jac[p][i] = o[i] - o0[i]
			}
		}
		a := e.NewAttacker(Options{})
		for trial := 0; trial < 5; trial++ {
			x := make([]float64, d0)
			for i := range x {
				x[i] = rng.Float64()
			}
			p := a.Eval(x, nil)
			y := argmax(p.Out)
			want := math.Inf(1)
			for j := 0; j < dL; j++ {
				if j == y {
					continue
				}
				var n2 float64
				for q := range jac {
					d := jac[q][y] - jac[q][j]
					n2 += d * d
				}
				want = min(want, (p.Out[y]-p.Out[j])/math.Sqrt(n2))
			}
			f := a.MinAdversarial(x, y, nil, nil)
			require.NotNil(t, f.X, "model %d trial %d", mi, trial)
			assert.GreaterOrEqual(t, f.Dist, want*(1-1e-9), "model %d trial %d: below the true minimum", mi, trial)
			assert.LessOrEqual(t, f.Dist, want*(1+1e-6), "model %d trial %d: %s found %.9g, minimum %.9g", mi, trial, f.Method, f.Dist, want)
			// Confirmed independently: a fresh cold solve at the point.
			z, acc := e.Solve(f.X, nil)
			o := e.Output(f.X, z)
			assert.NotEqual(t, y, argmax(o))
			assert.Less(t, acc, 1e-9)
		}
	}
}

// TestMinAdversarialNonlinear: on relu / hard-sigmoid models, reduced and
// not, every point the search returns changes the prediction of a fresh
// exact solve, the refinement never lengthens it, and the interpolation
// towards candidates only ever improves the distance.
func TestMinAdversarialNonlinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	found := 0
	for mi, m := range variants(t) {
		e, err := NewExact(m)
		require.NoError(t, err)
		d0 := m.Sizes[0]
		var xs [][]float64
		for i := 0; i < 8; i++ {
			x := make([]float64, d0)
			for p := range x {
				x[p] = rng.Float64()
			}
			xs = append(xs, x)
		}
		for _, box := range []bool{false, true} {
			for i, x := range xs {
				// Fresh attackers: both run the same DeepFool (same
				// evaluations, same cached factors) before they differ.
				a := e.NewAttacker(Options{Box: box})
				noCand := e.NewAttacker(Options{Box: box, RefineSteps: -1})
				p := e.NewAttacker(Options{}).Eval(x, nil)
				y := argmax(p.Out)
				var cands [][]float64
				for j, c := range xs {
					if j != i {
						cands = append(cands, c)
					}
				}
				f := a.MinAdversarial(x, y, p.Z, cands)
				f0 := noCand.MinAdversarial(x, y, p.Z, nil)
				if f.X == nil {
					assert.Nil(t, f0.X)
					continue
				}
				found++
				assert.LessOrEqual(t, f.Dist, f0.Dist, "model %d input %d", mi, i)
				z, acc := e.Solve(f.X, nil)
				o := e.Output(f.X, z)
				mg, _ := Margin(o, y)
				assert.Less(t, mg+math.Sqrt2*acc*maxRow(m), 0.0, "model %d input %d: %s point does not change the class", mi, i, f.Method)
				assert.InDelta(t, f.Dist, dist(x, f.X), 1e-12)
				if box {
					for _, v := range f.X {
						require.True(t, v >= 0 && v <= 1)
					}
				}
			}
		}
	}
	assert.Greater(t, found, 40)
}

// maxRow bounds ‖w_y − w_j‖/√2 by the largest row norm of W_{L−1} (or 1).
func maxRow(m *lrrn.Model) float64 {
	L := m.L()
	mx := 1.0
	c := m.Sizes[L-1]
	for i := 0; i < m.Sizes[L]; i++ {
		var s float64
		for _, w := range m.W[L-1][i*c : i*c+c] {
			s += float64(w) * float64(w)
		}
		mx = max(mx, 2*math.Sqrt(s))
	}
	return mx
}

// TestPGDFindsKnownFlip: on an affine model PGD at a radius 1% above the
// minimal adversarial distance changes the prediction, and at 1% below it
// cannot.
func TestPGDFindsKnownFlip(t *testing.T) {
	m := randomModel(t, []int{10, 6, 4}, []lrrn.Activation{Lin, Lin}, []float64{1, 1}, 0.125, 22)
	e, err := NewExact(m)
	require.NoError(t, err)
	a := e.NewAttacker(Options{})
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := 0; trial < 5; trial++ {
		x := make([]float64, 10)
		for i := range x {
			x[i] = rng.Float64()
		}
		p := a.Eval(x, nil)
		y := argmax(p.Out)
		f := a.MinAdversarial(x, y, p.Z, nil)
		require.NotNil(t, f.X)
		above, _ := a.PGD(x, y, 1.01*f.Dist, make([]float64, 10), 40, p.Z)
		below, _ := a.PGD(x, y, 0.99*f.Dist, make([]float64, 10), 40, p.Z)
		assert.Less(t, above, 0.0, "trial %d", trial)
		assert.Greater(t, below, 0.0, "trial %d", trial)
	}
}

// TestNearestOther: candidates are the inputs of another predicted class,
// nearest first, at most k, as float64 copies.
func TestNearestOther(t *testing.T) {
	pixels := []float32{0, 0, 3, 0, 1, 0, 0, 2, 5, 5}
	pred := []int{1, 0, 0, 0, 1}
	got := NearestOther([]float32{0, 0}, pixels, 2, pred, 1, 2)
	require.Equal(t, [][]float64{{1, 0}, {0, 2}}, got)
	require.Len(t, NearestOther([]float32{0, 0}, pixels, 2, pred, 1, 10), 3)
	require.Empty(t, NearestOther([]float32{0, 0}, pixels, 2, pred, 7, 0))
}
