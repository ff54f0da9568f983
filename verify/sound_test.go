package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// certifyWithStates certifies the n inputs of x tile by tile and returns
// the certificates and the iterates the certifier used (block K of each
// input, float64).
func certifyWithStates(t testing.TB, c *Certifier, x []float32, labels []int, n int) ([]Certificate, [][]float64) {
	out := make([]Certificate, n)
	states := make([][]float64, n)
	sc := c.newScratch()
	sc.out = out
	got := make([]int, n)
	sc.final = func(i int, st *lrrn.States, j int) { states[i] = stateVec(c, st, j); got[i]++ }
	T := lrrn.TileSize
	d0 := c.d0
	for i0 := 0; i0 < n; i0 += T {
		cnt := min(T, n-i0)
		var lab []int
		if labels != nil {
			lab = labels[i0 : i0+cnt]
		}
		bad := c.tile(sc, x[i0*d0:(i0+cnt)*d0], lab, cnt, i0)
		require.Equal(t, -1, bad)
	}
	c.flush(sc)
	for i, g := range got {
		require.Equal(t, 1, g, "input %d: final iterates", i)
	}
	return out, states
}

// stateVec returns the stacked variable blocks 1 … K of input j.
func stateVec(c *Certifier, st *lrrn.States, j int) []float64 {
	var z []float64
	for k := 1; k <= c.numK; k++ {
		z = append(z, f64(st.Layer(k, j))...)
	}
	return z
}

// exactRef holds the exact model's results for a set of inputs.
type exactRef struct {
	z      [][]float64 // minimisers (stacked blocks)
	acc    []float64   // bound on the minimiser's error
	tol    []float64   // bound on the error of margin (exactProblem.marginTol)
	margin []float64   // exact margin w.r.t. the label
	pred   []int
}

func exactResults(t testing.TB, ex *exactProblem, s *lrrn.Solver, x []float32, labels []int, n int) exactRef {
	d0 := ex.m.Sizes[0]
	st := s.NewStates(n)
	require.NoError(t, s.Free(nil, x[:n*d0], n, 2000, st)) // long float32 solve as warm start
	r := exactRef{z: make([][]float64, n), acc: make([]float64, n), tol: make([]float64, n), margin: make([]float64, n), pred: make([]int, n)}
	for i := 0; i < n; i++ {
		var warm []float64
		for k := 1; k <= ex.K; k++ {
			warm = append(warm, f64(st.Layer(k, i))...)
		}
		xi := f64(x[i*d0 : (i+1)*d0])
		z, acc := ex.solve(xi, warm)
		require.Less(t, acc, 1e-9, "input %d: reference solve did not converge (λ_min %g)", i, ex.lamMin)
		o := ex.output(xi, z)
		r.z[i], r.acc[i], r.tol[i] = z, acc, ex.marginTol(xi, z, acc)
		r.pred[i], r.margin[i] = argmaxMargin(o, labels, i)
	}
	return r
}

func argmaxMargin(o []float64, labels []int, i int) (int, float64) {
	pred := 0
	for j := range o {
		if o[j] > o[pred] {
			pred = j
		}
	}
	y := pred
	if labels != nil && labels[i] >= 0 {
		y = labels[i]
	}
	m := math.Inf(1)
	for j := range o {
		if j != y {
			m = min(m, o[y]-o[j])
		}
	}
	return pred, m
}

// checkSound asserts that every certificate is sound for the exact model:
// the iterate is within StateError of the minimiser, the exact margin is
// at least MarginLower, and a certified input is classified as its label.
func checkSound(t *testing.T, c *Certifier, certs []Certificate, states [][]float64, ref exactRef, what string) (certified int, ratios []float64) {
	blockOff := 0
	for k := 1; k < c.numK; k++ {
		blockOff += c.m.Sizes[k]
	}
	for i, cert := range certs {
		// The claim: ‖ž_K − z*_K‖ ≤ StateError for the certifier's
		// iterate ž_K (float32, exact in float64) and the exact
		// minimiser z*. What is computed: actual = fl‖ž_K − z_K‖ with the
		// reference's z, ‖z − z*‖ ≤ acc, so ‖ž_K − z_K‖ ≤ StateError + acc.
		// Each difference, square and the square root round once and the
		// sum of m squares by γ_{m−1} (m the block's size), so actual ≤
		// (1+γ_{m+2})‖ž_K − z_K‖ + √(m·tiny64) (a square that underflows
		// is off by at most 2⁻¹⁰⁷⁵; a difference that does is exact).
		// Evaluating the bound (nonnegative terms, at most 8 roundings
		// with gamma's own) costs one factor 1+γ_8.
		var d2 float64
		var m int
		if c.numK > 0 {
			a, b := states[i][blockOff:], ref.z[i][blockOff:]
			m = len(a)
			for j := range a {
				d2 += (a[j] - b[j]) * (a[j] - b[j])
			}
		}
		actual := math.Sqrt(d2)
		bound := ((cert.StateError+ref.acc[i])*(1+gamma(m+2, u64)) + math.Sqrt(float64(m)*tiny64)) * (1 + gamma(8, u64))
		if !assert.LessOrEqual(t, actual, bound, "%s input %d: state error", what, i) ||
			!assert.GreaterOrEqual(t, ref.margin[i], cert.MarginLower-ref.tol[i], "%s input %d: margin", what, i) {
			return
		}
		if cert.Certified {
			certified++
			require.Equal(t, cert.Label, ref.pred[i], "%s input %d: certified class is not the exact prediction", what, i)
		}
		if cert.StateError > 0 && !math.IsInf(cert.StateError, 0) {
			ratios = append(ratios, actual/cert.StateError)
		}
	}
	return certified, ratios
}

// TestInexactInferenceSound: with 1, 2, 5 and 20 passes (and adaptively
// from 1) the certificates of a trained model on real MNIST test images
// shrink or abstain but stay sound, checked against the exact minimiser
// (a 2000-pass solve polished in float64 to a residual below 1e-13).
func TestInexactInferenceSound(t *testing.T) {
	m, path := trainedModel(t)
	t.Logf("model %s", path)
	im, labels := mnistFixture(t)
	n := im.N
	if testing.Short() {
		n = 64
	}
	ex := newExact(m)
	c0, err := New(m, Options{Workers: 1})
	require.NoError(t, err)
	ref := exactResults(t, ex, c0.solver, im.Pixels, labels, n)
	for _, o := range []Options{{Passes: 1}, {Passes: 2}, {Passes: 5}, {Passes: 20}, {Passes: 1, Adaptive: true}, {}} {
		o.Workers = 1
		c, err := New(m, o)
		require.NoError(t, err)
		certs, states := certifyWithStates(t, c, im.Pixels, labels, n)
		what := fmt.Sprintf("passes=%d adaptive=%v", o.Passes, o.Adaptive)
		certified, ratios := checkSound(t, c, certs, states, ref, what)
		var radii, passes []float64
		for _, ct := range certs {
			radii = append(radii, ct.Radius)
			passes = append(passes, float64(ct.Passes))
		}
		t.Logf("%s: %d/%d certified, median δ %.4f, median actual/bound state error %.2g, median passes %g",
			what, certified, n, stats.Median(radii), stats.Median(ratios), stats.Median(passes))
	}
}

// TestResidualRoundingBound compares the certifier's residual norms per
// block (from the float32 products, NoRefine, and in float64, the
// default) with the reference gradient (written independently from the
// energy's definition, full-width float64 products): they must agree
// within the rounding bound the certifier adds. (The float64 residual's
// bound is below the reference's own rounding; TestResidual64Exact checks
// it against exact arithmetic.)
func TestResidualRoundingBound(t *testing.T) {
	m, _ := trainedModel(t)
	im, labels := mnistFixture(t)
	ex := newExact(m)
	for _, o := range []Options{{Passes: 1}, {Passes: 3}, {Passes: 20}, {Passes: 1, NoRefine: true}, {Passes: 3, NoRefine: true}, {Passes: 20, NoRefine: true}} {
		passes := o.Passes
		o.Workers = 1
		c, err := New(m, o)
		require.NoError(t, err)
		sc := c.newScratch()
		sc.dbg = &debugInfo{}
		var worst float64
		count := 50
		if testing.Short() {
			count = 15
		}
		for i := 0; i < count; i++ {
			x := im.Image(i)
			var out [1]Certificate
			sc.out = out[:]
			require.Equal(t, -1, c.tile(sc, x, labels[i:i+1], 1, 0))
			z := stateVec(c, sc.st, 0)
			g := ex.grad(f64(x), z)
			gk := 1.0
			for k := 1; k <= c.numK; k++ {
				var s float64
				for idx := ex.offs[k]; idx < ex.offs[k+1]; idx++ {
					v := g[idx] / gk
					if (z[idx] <= ex.lo[idx] && v > 0) || (z[idx] >= ex.hi[idx] && v < 0) {
						v = 0
					}
					s += v * v
				}
				ref := math.Sqrt(s)
				diff := math.Abs(sc.dbg.gn[k-1] - ref)
				// The reference's own rounding is far below 1e-12 relative.
				require.LessOrEqual(t, diff, sc.dbg.err[k-1]+1e-12*ref, "passes %d norefine %v input %d block %d", passes, o.NoRefine, i, k)
				worst = max(worst, diff/sc.dbg.err[k-1])
				gk *= m.Gamma
			}
		}
		t.Logf("passes %d norefine %v: largest |‖ĝ‖ − ‖g‖| / rounding bound = %.2g", passes, o.NoRefine, worst)
	}
}

// randomVariants covers activation sets, β with zeros, γ, and the output
// handling (reduced, full block, no hidden layer).
func randomVariants() []*lrrn.Model {
	var out []*lrrn.Model
	seed := uint64(100)
	mk := func(sizes []int, acts []lrrn.Activation, beta []float64, gamma, wscale float64) {
		m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: gamma, Passes: 20}, seed)
		if err != nil {
			panic(err)
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		for k := range m.W {
			for i := range m.W[k] {
				m.W[k][i] *= float32(wscale)
			}
			for i := range m.B[k] {
				m.B[k][i] = float32(0.3 * rng.NormFloat64())
			}
		}
		seed++
		out = append(out, m)
	}
	R, H, Lin := lrrn.ReLU, lrrn.HardSigmoid, lrrn.Linear
	for _, act := range []lrrn.Activation{R, H, Lin} {
		for _, g := range []float64{1, 0.5, 0.125} {
			mk([]int{30, 12, 9, 5}, []lrrn.Activation{act, act, Lin}, []float64{1, 1, 0}, g, 1.5)
			mk([]int{30, 12, 9, 5}, []lrrn.Activation{act, act, act}, []float64{0.5, 2, 0.7}, g, 1.2) // full output block
			mk([]int{30, 12, 9, 5}, []lrrn.Activation{act, act, Lin}, []float64{0, 0, 0}, g, 2)
		}
	}
	mk([]int{30, 5}, []lrrn.Activation{Lin}, []float64{0}, 0.125, 1)                                // no hidden layer: output exact
	mk([]int{30, 7}, []lrrn.Activation{R}, []float64{1}, 0.125, 1)                                  // one block, the output itself
	mk([]int{30, 40, 6}, []lrrn.Activation{R, Lin}, []float64{3, 0}, 0.125, 1)                      // wide hidden layer (W_0 taller than wide)
	mk([]int{30, 12, 9, 8, 4}, []lrrn.Activation{R, H, R, Lin}, []float64{1, 0.3, 1, 0}, 0.25, 1.3) // L = 4
	return out
}

func TestSoundRandomModels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for mi, m := range randomVariants() {
		m := m
		ex := newExact(m)
		n := 70 // more than a tile
		x := make([]float32, n*m.Sizes[0])
		for i := range x {
			x[i] = float32(rng.Float64())
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(m.Sizes[m.L()]+1) - 1 // some unlabelled (−1)
		}
		c0, err := New(m, Options{Workers: 1})
		require.NoError(t, err)
		ref := exactResults(t, ex, c0.solver, x, labels, n)
		// the float64 residual (the default) and the float32 one
		for _, o := range []Options{{Passes: 1}, {Passes: 3}, {Passes: 20}, {Passes: 2, Adaptive: true}, {},
			{Passes: 1, NoRefine: true}, {Passes: 20, NoRefine: true}, {NoRefine: true}} {
			o.Workers = 1
			c, err := New(m, o)
			require.NoError(t, err)
			certs, states := certifyWithStates(t, c, x, labels, n)
			what := fmt.Sprintf("model %d (%v %v β=%v γ=%g) passes=%d adaptive=%v norefine=%v", mi, m.Sizes, m.Acts, m.Beta, m.Gamma, o.Passes, o.Adaptive, o.NoRefine)
			certified, _ := checkSound(t, c, certs, states, ref, what)
			if o.Adaptive && c.bounds.Mu > 0 {
				// Run until converged, every input whose exact margin clears
				// the rounding floor is certified.
				o.MaxPasses = 20000
				c, err := New(m, o)
				require.NoError(t, err)
				certs, _ := certifyWithStates(t, c, x, labels, n)
				for i, ct := range certs {
					if ref.margin[i] > 0.05 {
						assert.True(t, ct.Certified, "%s input %d: exact margin %.3g, lower bound %.3g", what, i, ref.margin[i], ct.MarginLower)
					}
				}
			}
			_ = certified
		}
	}
}
