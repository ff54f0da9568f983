package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactOutput returns the exact model's output at x (float64 reference
// solve) and the bound on the error of margins computed from it
// (exactProblem.marginTol).
func exactOutput(t *testing.T, ex *exactProblem, c *Certifier, x []float32) ([]float64, float64) {
	t.Helper()
	xi := f64(x)
	if ex.K == 0 {
		return ex.output(xi, nil), ex.marginTol(xi, nil, 0)
	}
	st := c.solver.NewStates(1)
	require.NoError(t, c.solver.Free(nil, x, 1, 2000, st))
	var warm []float64
	for k := 1; k <= ex.K; k++ {
		warm = append(warm, f64(st.Layer(k, 0))...)
	}
	for i, v := range warm {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			warm[i] = 0
		}
	}
	z, acc := ex.solve(xi, warm)
	return ex.output(xi, z), ex.marginTol(xi, z, acc)
}

// checkCertAgainstExact fails when cert claims a class the exact model
// does not predict, or a margin lower bound above the exact margin; tol
// bounds the error of margins computed from o (exactOutput).
func checkCertAgainstExact(t *testing.T, cert Certificate, o []float64, tol float64, what string) bool {
	t.Helper()
	if !cert.Certified {
		return true
	}
	pred, margin := argmaxMargin(o, []int{cert.Label}, 0)
	ok := assert.Equal(t, cert.Label, pred, "%s: certified class %d, exact prediction %d (exact outputs %v, margin lower %g)", what, cert.Label, pred, o, cert.MarginLower)
	ok = ok && assert.GreaterOrEqual(t, margin+tol, cert.MarginLower, "%s: margin lower bound above the exact margin", what)
	return ok
}

// TestOverflowNotCertified: weights near the float32 range make the
// float32 products overflow (a partial sum reaches ±Inf although the exact
// value is finite). The rounding bounds do not cover overflow, so such an
// input must abstain, never be certified from an infinite output.
func TestOverflowNotCertified(t *testing.T) {
	const big = 3e38
	// L = 1, linear output (K = 0): output 0 = big·(x0 + x1 − x2 − x3),
	// output 1 = 1.
	m0, err := lrrn.New(lrrn.Config{Sizes: []int{4, 2}, Acts: []lrrn.Activation{lrrn.Linear}, Beta: []float64{0}, Gamma: 1, Passes: 5})
	require.NoError(t, err)
	copy(m0.W[0], []float32{big, big, -big, -big, 0, 0, 0, 0})
	m0.B[0][1] = 1
	// L = 2, reduced: hidden relu z_1 = x (identity), output as above.
	m1, err := lrrn.New(lrrn.Config{Sizes: []int{4, 4, 2}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{0, 0}, Gamma: 0.125, Passes: 5})
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		m1.W[0][i*4+i] = 1
	}
	copy(m1.W[1], []float32{big, big, -big, -big, 0, 0, 0, 0})
	m1.B[1][1] = 1
	xs := [][]float32{{1, 1, 1, 1}, {1, 1, 1, 0.9}, {1, 0.9, 1, 1}, {0.5, 0.5, 0.5, 0.5}}
	for mi, m := range []*lrrn.Model{m0, m1} {
		c, err := New(m, Options{Workers: 1})
		require.NoError(t, err)
		ex := newExact(m)
		for xi, x := range xs {
			for _, label := range []int{-1, 0, 1} {
				cert, err := c.Certify(x, label)
				require.NoError(t, err)
				o, tol := exactOutput(t, ex, c, x)
				checkCertAgainstExact(t, cert, o, tol, fmt.Sprintf("model %d input %d label %d", mi, xi, label))
			}
		}
	}
}

// TestOverflowSearch tries sign patterns of near-overflow weights until
// the float32 products overflow in some order.
func TestOverflowSearch(t *testing.T) {
	const big = 2e38
	for _, d0 := range []int{3, 5, 8, 16, 17, 33, 120, 230} {
		for pat := 0; pat < 8; pat++ {
			m, err := lrrn.New(lrrn.Config{Sizes: []int{d0, 2}, Acts: []lrrn.Activation{lrrn.Linear}, Beta: []float64{0}, Gamma: 1, Passes: 5})
			require.NoError(t, err)
			// half positive first, then negative (several arrangements)
			for p := 0; p < d0; p++ {
				s := float32(1)
				switch pat % 4 {
				case 0:
					if p >= (d0+1)/2 {
						s = -1
					}
				case 1:
					if p < d0/2 {
						s = -1
					}
				case 2:
					if p%2 == 1 {
						s = -1
					}
				case 3:
					if (p/8)%2 == 1 {
						s = -1
					}
				}
				if pat >= 4 {
					s = -s
				}
				m.W[0][p] = s * big
			}
			m.B[0][1] = 1
			c, err := New(m, Options{Workers: 1})
			require.NoError(t, err)
			ex := newExact(m)
			x := make([]float32, d0)
			for i := range x {
				x[i] = 1
			}
			cert, err := c.Certify(x, -1)
			require.NoError(t, err)
			o, tol := exactOutput(t, ex, c, x)
			checkCertAgainstExact(t, cert, o, tol, fmt.Sprintf("d0 %d pattern %d", d0, pat))
		}
	}
}

// TestHiddenOverflowSearch: a hidden unit's input part W_0 x overflows in
// float32 while its exact value is finite; the residual must not hide it.
func TestHiddenOverflowSearch(t *testing.T) {
	const big = 2e38
	for _, act := range []lrrn.Activation{lrrn.ReLU, lrrn.HardSigmoid, lrrn.Linear} {
		for _, d0 := range []int{3, 5, 8, 16, 17} {
			for pat := 0; pat < 8; pat++ {
				m, err := lrrn.New(lrrn.Config{Sizes: []int{d0, 2, 2}, Acts: []lrrn.Activation{act, lrrn.Linear}, Beta: []float64{0, 0}, Gamma: 0.125, Passes: 5})
				require.NoError(t, err)
				for p := 0; p < d0; p++ {
					s := float32(1)
					switch pat % 4 {
					case 0:
						if p >= (d0+1)/2 {
							s = -1
						}
					case 1:
						if p < d0/2 {
							s = -1
						}
					case 2:
						if p%2 == 1 {
							s = -1
						}
					case 3:
						if (p/8)%2 == 1 {
							s = -1
						}
					}
					if pat >= 4 {
						s = -s
					}
					m.W[0][p] = s * big
				}
				m.W[1][0] = -2e-38
				m.B[1][0] = 1
				c, err := New(m, Options{Workers: 1})
				require.NoError(t, err)
				ex := newExact(m)
				x := make([]float32, d0)
				for i := range x {
					x[i] = 1
				}
				cert, err := c.Certify(x, -1)
				require.NoError(t, err)
				o, tol := exactOutput(t, ex, c, x)
				checkCertAgainstExact(t, cert, o, tol, fmt.Sprintf("%v d0 %d pattern %d", act, d0, pat))
			}
		}
	}
}

// edgeVariants are models at the edges of the certificate's derivation:
// β = 0.25 and 4 with singular values below, around and above 1/√β (ℓ from
// f(σ_max), the peak, f(σ_min)), γ = 1, linear hidden layers, L = 1 and
// L = 4, non-reduced outputs (β_{L−1} > 0, or a box output), tiny weights.
func edgeVariants() []*lrrn.Model {
	var out []*lrrn.Model
	seed := uint64(500)
	mk := func(sizes []int, acts []lrrn.Activation, beta []float64, gamma float64, wscale []float64) *lrrn.Model {
		m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: gamma, Passes: 20}, seed)
		if err != nil {
			panic(err)
		}
		rng := rand.New(rand.NewPCG(seed, 5))
		for k := range m.W {
			for i := range m.W[k] {
				m.W[k][i] *= float32(wscale[k])
			}
			for i := range m.B[k] {
				m.B[k][i] = float32(0.2 * rng.NormFloat64())
			}
		}
		seed++
		out = append(out, m)
		return m
	}
	R, H, Lin := lrrn.ReLU, lrrn.HardSigmoid, lrrn.Linear
	for _, ws := range []float64{0.3, 1, 3} {
		mk([]int{12, 8, 6, 4}, []lrrn.Activation{R, R, Lin}, []float64{0.25, 0.25, 0}, 0.125, []float64{ws, ws, 1})
		mk([]int{12, 8, 6, 4}, []lrrn.Activation{R, Lin, Lin}, []float64{4, 4, 0}, 1, []float64{ws, ws, 1})
		mk([]int{12, 8, 6, 4}, []lrrn.Activation{Lin, H, Lin}, []float64{4, 0.25, 0.25}, 0.5, []float64{ws, ws, ws}) // non-reduced, linear output
		mk([]int{12, 5}, []lrrn.Activation{H}, []float64{4}, 1, []float64{ws})                                       // L = 1, box output
		mk([]int{12, 5}, []lrrn.Activation{Lin}, []float64{0.25}, 1, []float64{ws})                                  // L = 1, linear non-reduced
	}
	mk([]int{12, 9, 8, 7, 3}, []lrrn.Activation{Lin, R, H, Lin}, []float64{4, 0.25, 1, 0}, 1, []float64{1, 2, 0.5, 1}) // L = 4, γ = 1
	mk([]int{12, 9, 8, 7, 3}, []lrrn.Activation{R, R, R, R}, []float64{0.25, 4, 1, 2}, 0.125, []float64{1, 1, 1, 1})   // L = 4, relu output block
	mk([]int{12, 6, 3}, []lrrn.Activation{R, Lin}, []float64{1, 0}, 0.125, []float64{1e-20, 1})                        // tiny first layer
	// σ_min of W_0ᵀ above 1/√β: ℓ = f(σ_min) < 1, attained along the
	// smallest singular direction (linear hidden layer).
	m := mk([]int{12, 6, 3}, []lrrn.Activation{Lin, Lin}, []float64{1, 0}, 0.25, []float64{1, 1})
	for i := range m.W[0] {
		m.W[0][i] = 0
	}
	for i := 0; i < 6; i++ {
		m.W[0][i*12+i] = float32(2 + 0.6*float64(i)) // singular values 2 … 5
	}
	return out
}

// TestSoundEdgeModels certifies inputs inside and outside [0,1] (negative,
// above one, large, all zero) on the edge variants and checks each
// certificate against the float64 exact minimiser, ρ against the exact
// local Jacobian and difference quotients, and the radii against PGD on
// the exact model.
func TestSoundEdgeModels(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for mi, m := range edgeVariants() {
		ex := newExact(m)
		d0 := m.Sizes[0]
		var x []float32
		add := func(f func(int) float64) {
			for p := 0; p < d0; p++ {
				x = append(x, float32(f(p)))
			}
		}
		for i := 0; i < 12; i++ {
			add(func(int) float64 { return rng.Float64() })
		}
		add(func(int) float64 { return 0 })
		add(func(int) float64 { return math.Copysign(0, -1) })
		for i := 0; i < 4; i++ {
			add(func(int) float64 { return rng.NormFloat64() * 3 })    // negative and > 1
			add(func(int) float64 { return rng.NormFloat64() * 100 })  // large
			add(func(int) float64 { return 0x1p-140 * rng.Float64() }) // subnormal
		}
		n := len(x) / d0
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(m.Sizes[m.L()]+1) - 1
		}
		c0, err := New(m, Options{Workers: 1})
		require.NoError(t, err)
		ref := exactResults(t, ex, c0.solver, x, labels, n)
		b := c0.Bounds()
		what := fmt.Sprintf("edge model %d (%v %v β=%v γ=%g)", mi, m.Sizes, m.Acts, m.Beta, m.Gamma)
		for _, o := range []Options{{Passes: 2}, {Passes: 20}, {Passes: 1, Adaptive: true}} {
			o.Workers = 1
			c, err := New(m, o)
			require.NoError(t, err)
			certs, states := certifyWithStates(t, c, x, labels, n)
			cnt, _ := checkSound(t, c, certs, states, ref, fmt.Sprintf("%s passes %d adaptive %v", what, o.Passes, o.Adaptive))
			t.Logf("%s passes %d adaptive %v: %d of %d certified", what, o.Passes, o.Adaptive, cnt, n)
			if !o.Adaptive {
				continue
			}
			a := newAttacker(ex)
			for i, cert := range certs {
				if !cert.Certified || ex.K == 0 {
					continue
				}
				xi := f64(x[i*d0 : (i+1)*d0])
				for _, r := range []float64{0.999 * cert.Radius, 0.999 * cert.PairRadius} {
					if !(r > 0) || math.IsInf(r, 0) {
						continue
					}
					for start := 0; start < 2; start++ {
						delta := make([]float64, d0)
						if start > 0 {
							for k := range delta {
								delta[k] = rng.NormFloat64()
							}
							s := r / norm(delta)
							for k := range delta {
								delta[k] *= s
							}
						}
						mg, at := a.PGD(xi, cert.Label, r, delta, 12, ref.z[i])
						assert.Greater(t, mg, -pgdMarginTol(ex, at), "%s input %d: PGD at radius %.4g changed the prediction", what, i, r)
					}
				}
			}
		}
		// ρ against the exact model's local Jacobian and difference quotients.
		if ex.K == 0 {
			continue
		}
		L, dL := m.L(), m.Sizes[m.L()]
		var maxJ float64
		for i := 0; i < n; i++ {
			f := ex.face(ref.z[i])
			var jac []float64
			for u := 0; u < dL; u++ {
				jac = append(jac, f.gradX(ex.outputDir(u))...)
			}
			sj := linalg.SingularValues(jac, dL, d0)[0]
			assert.LessOrEqual(t, sj, b.Rho, "%s input %d: local Jacobian norm above ρ", what, i)
			maxJ = max(maxJ, sj/b.Rho)
			if c0.reduced && ex.K >= 1 {
				dk := m.Sizes[L-1]
				var js []float64
				for u := 0; u < dk; u++ {
					e := make([]float64, ex.N)
					e[ex.offs[ex.K]+u] = 1
					js = append(js, f.gradX(e)...)
				}
				sp := linalg.SingularValues(js, dk, d0)[0]
				assert.LessOrEqual(t, sp, b.RhoPre, "%s input %d: local Jacobian of ž_{L−1} above RhoPre", what, i)
			}
			j := rng.IntN(n)
			if j == i {
				continue
			}
			// The claim: ‖o*(x_i) − o*(x_j)‖ ≤ ρ‖x_i − x_j‖ for the exact
			// outputs o*. What is computed: do = fl‖ô_i − ô_j‖ from the
			// float64 outputs ô at the reference states, and dx =
			// fl‖x_i − x_j‖ of the float32 inputs, in float64.
			//   - do ≤ (1+γ_{d_L+2})‖ô_i − ô_j‖ + √(d_L·tiny64): each
			//     difference, square and the square root round once, the sum
			//     of d_L squares by γ_{d_L−1}; a square that underflows is
			//     off by at most 2⁻¹⁰⁷⁵ ≤ tiny64.
			//   - ‖ô_i − ô_j‖ ≤ ‖o*_i − o*_j‖ + e_i + e_j with e =
			//     exactProblem.outputErr (state error acc and the rounding of
			//     the output sums).
			//   - ‖x_i − x_j‖ ≤ dx/(1−γ_{d0+2}) ≤ (1+γ_{2d0+4})·dx: the same
			//     roundings, downwards; a nonzero difference of float32 values
			//     is at least 2⁻¹⁴⁹, so its square (≥ 2⁻²⁹⁸) does not underflow.
			//   - Evaluating the bound (nonnegative terms, at most 10
			//     roundings with gamma's own) costs one factor 1+γ_10.
			xi, xj := f64(x[i*d0:(i+1)*d0]), f64(x[j*d0:(j+1)*d0])
			var dx2, do2 float64
			oi, oj := ex.output(xi, ref.z[i]), ex.output(xj, ref.z[j])
			for p := 0; p < d0; p++ {
				d := xi[p] - xj[p]
				dx2 += d * d
			}
			for u := range oi {
				do2 += (oi[u] - oj[u]) * (oi[u] - oj[u])
			}
			ei, ej := ex.outputErr(xi, ref.z[i], ref.acc[i]), ex.outputErr(xj, ref.z[j], ref.acc[j])
			bound := ((b.Rho*math.Sqrt(dx2)*(1+gamma(2*d0+4, u64))+ei+ej)*(1+gamma(dL+2, u64)) + math.Sqrt(float64(dL)*tiny64)) * (1 + gamma(10, u64))
			assert.LessOrEqual(t, math.Sqrt(do2), bound, "%s inputs %d, %d: difference quotient above ρ", what, i, j)
		}
		t.Logf("%s: ρ %.4g (ℓ %v), largest local Jacobian ÷ ρ %.3f", what, b.Rho, ells(b), maxJ)
	}
}

func ells(b Bounds) []string {
	var s []string
	for _, l := range b.Layers {
		s = append(s, fmt.Sprintf("%.3g[σ %.3g…%.3g]", l.Ell, l.MinLower, l.MaxUpper))
	}
	return s
}

// TestNonFiniteProductsAbstain: a float32 product of the residual can
// overflow (W_0 x with weights near the float32 range gives ±Inf or NaN,
// whose sign depends on the summation order and the CPU's default NaN).
// The rounding bounds do not cover overflow, so the certificate must
// abstain — also where the min-norm subgradient would cancel the
// coordinate (an iterate at a bound with an infinite gradient pointing out
// of the box).
func TestNonFiniteProductsAbstain(t *testing.T) {
	posNaN := math.Float32frombits(0x7fc00000)
	negNaN := math.Float32frombits(0xffc00000)
	inf := float32(math.Inf(1))
	for _, act := range []lrrn.Activation{lrrn.ReLU, lrrn.HardSigmoid, lrrn.Linear} {
		for _, top := range []bool{false, true} {
			sizes := []int{3, 2, 2}
			acts := []lrrn.Activation{act, lrrn.Linear}
			beta := []float64{0, 0}
			if top { // two variable blocks: block 1 has the top term
				sizes = []int{3, 2, 2, 2}
				acts = []lrrn.Activation{act, act, lrrn.Linear}
				beta = []float64{0, 0, 0}
			}
			m, err := lrrn.New(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: 0.5, Passes: 1})
			require.NoError(t, err)
			L := m.L()
			m.B[L-1][0] = 1 // class 0 wins by 1 at any state with W_{L−1} = 0 …
			m.W[L-1][0] = 1e-6
			m.W[0][0], m.W[0][4] = 0.5, -0.5
			// the float32 residual: the float64 one (refine.go) multiplies
			// the input x, not v, and its products of finite float32
			// values cannot overflow
			c, err := New(m, Options{Workers: 1, NoRefine: true})
			require.NoError(t, err)
			lo, hi := act.Bounds()
			for _, zi := range []float32{lo, hi} {
				if math.IsInf(float64(zi), 0) {
					zi = 0
				}
				for _, vi := range []float32{inf, -inf, posNaN, negNaN} {
					sc := c.newScratch()
					st := c.solver.NewStates(1)
					for k := 1; k <= L; k++ {
						clear(st.Layer(k, 0))
					}
					st.Layer(1, 0)[0] = zi
					v := make([]float32, len(sc.v))
					v[0] = vi
					xn := []float64{1}
					var out [1]Certificate
					c.evaluate(sc, st, v, make([]float32, m.Sizes[0]), xn, nil, 1, out[:], 1, sc.aux)
					assert.False(t, out[0].Certified, "%v top=%v z=%v v=%v: certified from a non-finite product: %+v", act, top, zi, vi, out[0])
				}
			}
		}
	}
}

// TestGershgorinMuBelowLambdaMin checks the block Gershgorin bound (used
// for networks with more than maxDense variable units) against λ_min of
// the scaled Hessian S by Jacobi (internal/linalg), for every block
// scaling, on small models where both are computable.
func TestGershgorinMuBelowLambdaMin(t *testing.T) {
	positive := 0
	for mi, m := range append(randomVariants(), edgeVariants()...) {
		K := m.L()
		if m.ReducedOutput() {
			K--
		}
		if K == 0 {
			continue
		}
		fro2 := make([]float64, m.L())
		for k := range fro2 {
			for _, w := range m.W[k] {
				fro2[k] += float64(w) * float64(w)
			}
			fro2[k] *= 1 + 1e-12
		}
		for _, tau := range tauCandidates(K) {
			S, N, _ := scaledHessian(m, K, tau, fro2)
			lam := linalg.SymEigenvalues(S, N)[0]
			h := newHessian(m, K, fro2, nil)
			mu := h.muGershgorin(tau)
			est, _ := linalg.Lanczos(N, N, 0, func(y, x []float64) { linalg.SymMatVec(y, S, x, N, 1) })
			dense := h.certifiedMu(tau, est, nil)
			assert.LessOrEqual(t, mu, lam*(1+1e-12), "model %d τ %v: Gershgorin μ above λ_min(S)", mi, tau)
			assert.LessOrEqual(t, dense, lam*(1+1e-12), "model %d τ %v: μ above λ_min(S)", mi, tau)
			if mu > 0 {
				positive++
			}
		}
	}
	assert.Greater(t, positive, 0, "the Gershgorin bound never proved anything: the test checks nothing")
}

// TestNewMemoryDeepNetwork: with more than maxDenseN variable units in all
// (here 60 layers of 140), μ comes from the block Gershgorin bound; New
// must not assemble the N×N scaled Hessian (N = 8400: 564 MB) for it.
func TestNewMemoryDeepNetwork(t *testing.T) {
	if raceEnabled {
		t.Skip("an allocation count of single-goroutine work (90 s under -race); runs without -race")
	}
	sizes := []int{8}
	var acts []lrrn.Activation
	var beta []float64
	for i := 0; i < 60; i++ {
		sizes = append(sizes, 140)
		acts = append(acts, lrrn.ReLU)
		beta = append(beta, 1)
	}
	sizes = append(sizes, 3)
	acts = append(acts, lrrn.Linear)
	beta = append(beta, 0)
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: 0.125, Passes: 5}, 7)
	require.NoError(t, err)
	var m0, m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err = lrrn.NewSolver(m) // New builds one: not the certifier's own memory
	require.NoError(t, err)
	runtime.ReadMemStats(&m1)
	c, err := New(m, Options{Workers: 1})
	runtime.ReadMemStats(&m2)
	require.NoError(t, err)
	own := int64(m2.TotalAlloc-m1.TotalAlloc) - int64(m1.TotalAlloc-m0.TotalAlloc)
	N := c.Bounds().Blocks * 140
	require.Greater(t, N, maxDenseN)
	// A quarter of S's N²·8 bytes: far below what assembling S (for any
	// of the four scalings) would take. Besides it, the float64 residual
	// operators (refine.go; one d_k × (d_{k−1}+d_k+d_{k+1}) matrix per
	// block, 27 MB here: linear in the depth).
	var ref int64
	for _, rb := range c.ref {
		ref += 8 * int64(len(rb.r))
	}
	assert.Equal(t, int64(8*140*((140+8+140)+58*420+(140+140))), ref, "the float64 residual operators (block 1 multiplies the 8 inputs, block 60 has no top term)")
	assert.Less(t, own-ref, int64(N*N*8/4), "New allocated %d MB besides the solver and the float64 residual operators for %d variable units", (own-ref)>>20, N)
	x := make([]float32, 8)
	for i := range x {
		x[i] = 0.5
	}
	_, err = c.Certify(x, -1)
	require.NoError(t, err)

	// A variable layer wider than the certifier's limit (maxDense, equal
	// to the solver's lrrn.MaxLayerUnits; whichever is smaller refuses
	// it) cannot get a certified μ: New says so, naming the layer, its
	// width and the limit, before lrrn.NewSolverHessians builds its d×d
	// Hessian block (134 MB at 4097).
	d := min(maxDense, lrrn.MaxLayerUnits) + 1
	wide := &lrrn.Model{
		Config: lrrn.Config{Sizes: []int{4, d, 2}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: 0.125, Passes: 5},
		W:      [][]float32{make([]float32, d*4), make([]float32, 2*d)},
		B:      [][]float32{make([]float32, d), make([]float32, 2)},
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = New(wide, Options{})
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	for _, want := range []string{"layer 1", fmt.Sprint(d), fmt.Sprint(d - 1)} {
		assert.ErrorContains(t, err, want)
	}
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated while refusing the model")
}

// TestManyClasses: a reduced output with more classes than maxPairTable
// (the per-pair bounds ‖w_y − w_j‖ are then computed per pair instead of
// tabulated: at MaxUnits classes the dL² table alone would take 34 GB).
// Certificates stay sound against the exact model, and New does not
// allocate the table.
func TestManyClasses(t *testing.T) {
	const dL = 3000
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{6, 5, dL}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: 0.125, Passes: 20}, 9)
	require.NoError(t, err)
	m.B[1][7] = 4 // a clear winner
	var m0, m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err = lrrn.NewSolver(m)
	require.NoError(t, err)
	runtime.ReadMemStats(&m1)
	c, err := New(m, Options{Workers: 1})
	runtime.ReadMemStats(&m2)
	require.NoError(t, err)
	own := int64(m2.TotalAlloc-m1.TotalAlloc) - int64(m1.TotalAlloc-m0.TotalAlloc)
	assert.Less(t, own, int64(dL*dL*8/2), "New allocated %d MB besides the solver for %d classes", own>>20, dL)
	ex := newExact(m)
	rng := rand.New(rand.NewPCG(1, 2))
	certified := 0
	for trial := 0; trial < 20; trial++ {
		x := make([]float32, 6)
		for i := range x {
			x[i] = float32(rng.Float64())
		}
		label := -1
		if trial%2 == 1 {
			label = 7
		}
		cert, err := c.Certify(x, label)
		require.NoError(t, err)
		o, tol := exactOutput(t, ex, c, x)
		if checkCertAgainstExact(t, cert, o, tol, fmt.Sprintf("input %d", trial)) && cert.Certified {
			certified++
			assert.GreaterOrEqual(t, cert.PairRadius, cert.Radius)
		}
	}
	assert.Greater(t, certified, 0, "nothing certified: the test checks nothing")
}

// TestSoundRandomArchitectures draws small architectures at random (depth
// 1 … 4, every activation, β ∈ {0, 0.25, 1, 4}, γ ∈ {1, 0.5, 0.125}, weight
// scales over two decades) and checks the certificates of random inputs
// against the exact minimiser. LRRN_VERIFY_SWEEP=n runs n models instead
// of 40.
func TestSoundRandomArchitectures(t *testing.T) {
	nModels := 40
	if s := os.Getenv("LRRN_VERIFY_SWEEP"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err)
		nModels = v
	}
	rng := rand.New(rand.NewPCG(77, 78))
	acts := []lrrn.Activation{lrrn.ReLU, lrrn.HardSigmoid, lrrn.Linear}
	betas := []float64{0, 0.25, 1, 4}
	gammas := []float64{1, 0.5, 0.125}
	certified, skipped := 0, 0
	for mi := 0; mi < nModels; mi++ {
		L := 1 + rng.IntN(4)
		sizes := []int{2 + rng.IntN(12)}
		var a []lrrn.Activation
		var beta []float64
		for k := 0; k < L; k++ {
			sizes = append(sizes, 2+rng.IntN(9))
			a = append(a, acts[rng.IntN(3)])
			beta = append(beta, betas[rng.IntN(4)])
		}
		m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: a, Beta: beta, Gamma: gammas[rng.IntN(3)], Passes: 20}, uint64(mi)+1000)
		require.NoError(t, err)
		for k := range m.W {
			s := float32(math.Pow(10, rng.Float64()*2-1))
			for i := range m.W[k] {
				m.W[k][i] *= s
			}
			for i := range m.B[k] {
				m.B[k][i] = float32(0.3 * rng.NormFloat64())
			}
		}
		ex := newExact(m)
		if ex.N > 0 && ex.lamMin < 1e-4 {
			skipped++ // too ill-conditioned for the reference to reach 1e-9
			continue
		}
		n := 10
		x := make([]float32, n*sizes[0])
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(sizes[L]+1) - 1
		}
		o := Options{Workers: 1, Passes: []int{0, 1, 3, 20}[rng.IntN(4)], Adaptive: rng.IntN(2) == 0}
		c, err := New(m, o)
		require.NoError(t, err)
		ref := exactResults(t, ex, c.solver, x, labels, n)
		certs, states := certifyWithStates(t, c, x, labels, n)
		cnt, _ := checkSound(t, c, certs, states, ref, fmt.Sprintf("random model %d (%v %v β=%v γ=%g, %+v)", mi, m.Sizes, m.Acts, m.Beta, m.Gamma, o))
		certified += cnt
	}
	t.Logf("%d models (%d skipped as too ill-conditioned for the reference), %d certificates", nModels, skipped, certified)
	assert.Greater(t, certified, nModels, "too few certificates for the test to mean anything")
}

// TestZeroModelUnbounded: with a layer of zero weights (β = 0) the output
// does not depend on the input: ρ is exactly 0 and every certified radius
// is +Inf (it was MaxFloat64 or +Inf depending on the margin), reported
// as null with radius_unbounded in JSON.
func TestZeroModelUnbounded(t *testing.T) {
	m, err := lrrn.New(lrrn.Config{Sizes: []int{6, 4, 3}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: 0.125, Passes: 5})
	require.NoError(t, err)
	m.B[1][2] = 0.5
	c, err := New(m, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0.0, c.Bounds().Rho)
	x := []float32{0.1, 0.9, 0.3, 0, 1, 0.5}
	ct, err := c.Certify(x, -1)
	require.NoError(t, err)
	assert.True(t, ct.Certified)
	assert.Equal(t, 2, ct.Pred)
	assert.True(t, math.IsInf(ct.Radius, 1), "radius %v", ct.Radius)
	assert.True(t, math.IsInf(ct.PairRadius, 1), "pair radius %v", ct.PairRadius)
	r := NewRecord(0, ct)
	assert.Nil(t, r.Radius)
	assert.True(t, r.RadiusUnbounded)
	assert.True(t, r.PairRadiusUnbounded)
	// Wrong label: not certified, radius 0, not unbounded.
	ct, err = c.Certify(x, 0)
	require.NoError(t, err)
	assert.False(t, ct.Certified)
	assert.Equal(t, 0.0, ct.Radius)
	assert.False(t, NewRecord(0, ct).RadiusUnbounded)
}

// TestMuAgainstExactSpectrum checks the μ that New certifies for each
// block scaling it keeps against λ_min(S_τ) computed by Jacobi
// (internal/linalg): never above it (soundness), and within the relative
// tolerance of the estimate-then-certify scheme below it (a useful μ, not
// a Gershgorin-loose one), on the random and edge models and on wider
// random 784-W-W-10 models where S has up to 400 unknowns.
func TestMuAgainstExactSpectrum(t *testing.T) {
	models := append(randomVariants(), edgeVariants()...)
	for _, w := range []int{96, 200} {
		models = append(models, wideModel(t, w))
	}
	checked := 0
	for mi, m := range models {
		c, err := New(m, Options{Workers: 1})
		require.NoError(t, err)
		if c.numK == 0 {
			continue
		}
		fro2 := make([]float64, m.L())
		for k := range fro2 {
			for _, w := range m.W[k] {
				fro2[k] += float64(w) * float64(w)
			}
		}
		for _, tc := range c.taus {
			S, N, _ := scaledHessian(m, c.numK, tc.tau, fro2)
			if raceEnabled && N > 128 {
				continue // the Jacobi reference is O(N³) of plain Go
			}
			lam := linalg.SymEigenvalues(S, N)[0]
			assert.LessOrEqual(t, tc.mu, lam*(1+1e-12), "model %d %v τ %v: μ above λ_min(S)", mi, m.Sizes, tc.tau)
			tol := muTol
			if N <= 256 {
				tol = muTolSmall
			}
			// The certified shift is est·(1−tol) with est ≥ λ_min, minus
			// the factorisation's rounding margin (≪ tol here).
			assert.GreaterOrEqual(t, tc.mu, lam*(1-3*tol), "model %d %v τ %v: μ %g loose against λ_min %g", mi, m.Sizes, tc.tau, tc.mu, lam)
			checked++
		}
	}
	if raceEnabled {
		assert.Greater(t, checked, 5)
	} else {
		assert.Greater(t, checked, 20)
	}
}
