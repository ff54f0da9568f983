package lrrn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/stretchr/testify/require"
)

// randomModel returns a small random model with the given sizes,
// activations of the hidden layers, β and γ; the output activation is the
// last entry of acts. Weights are scaled by wscale relative to Glorot.
func randomModel(sizes []int, acts []Activation, beta []float64, gamma float64, seed uint64, wscale float64) *Model {
	m, err := NewRandom(Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: gamma, Passes: 20}, seed)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for k := range m.W {
		for i := range m.W[k] {
			m.W[k][i] *= float32(wscale)
		}
		for i := range m.B[k] {
			m.B[k][i] = float32(0.3 * rng.NormFloat64())
		}
	}
	return m
}

func randomInput(d int, rng *rand.Rand) []float32 {
	x := make([]float32, d)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	return x
}

// stateOf returns the per-layer slices of input i of st, z[0] = nil.
func stateOf(st *States, i int) [][]float32 {
	z := make([][]float32, len(st.Z))
	for k := 1; k < len(st.Z); k++ {
		z[k] = st.Layer(k, i)
	}
	return z
}

// problem describes which layers are variables: 1 … L (free) or 1 … L−1
// (clamped, z_L held at its current value).
type problem struct {
	m       *Model
	x       []float32
	clamped bool
}

func (p problem) last() int {
	if p.clamped {
		return p.m.L() - 1
	}
	return p.m.L()
}

func (p problem) dim() int {
	n := 0
	for k := 1; k <= p.last(); k++ {
		n += p.m.Sizes[k]
	}
	return n
}

// grad64 returns E and ∂E/∂z over the problem's variables (flattened) at z
// given in float64; fixed layers (clamped output) are taken from fixed.
func (p problem) grad64(z []float64, fixed []float32) (float64, []float64) {
	m := p.m
	// Energy in float64 with float64 state: reuse Model.EnergyGrad through
	// float32 would lose precision, so evaluate here directly.
	L := m.L()
	layers := make([][]float64, L+1)
	layers[0] = make([]float64, m.Sizes[0])
	for i, v := range p.x {
		layers[0][i] = float64(v)
	}
	off := 0
	for k := 1; k <= L; k++ {
		if k <= p.last() {
			layers[k] = z[off : off+m.Sizes[k]]
			off += m.Sizes[k]
		} else {
			layers[k] = make([]float64, m.Sizes[k])
			for i, v := range fixed {
				layers[k][i] = float64(v)
			}
		}
	}
	g := make([][]float64, L+1)
	for k := range g {
		g[k] = make([]float64, m.Sizes[k])
	}
	var e float64
	gk := 1.0
	for k := 0; k < L; k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		W := m.W[k]
		r := make([]float64, rows)
		s := append([]float64(nil), layers[k]...)
		for i := 0; i < rows; i++ {
			var wz float64
			for j := 0; j < cols; j++ {
				wz += float64(W[i*cols+j]) * layers[k][j]
				s[j] -= float64(W[i*cols+j]) * layers[k+1][i]
			}
			r[i] = layers[k+1][i] - wz - float64(m.B[k][i])
		}
		beta := m.Beta[k]
		var rr, ss float64
		for _, v := range r {
			rr += v * v
		}
		for _, v := range s {
			ss += v * v
		}
		e += gk * (0.5*rr + 0.5*beta*ss)
		for i := 0; i < rows; i++ {
			g[k+1][i] += gk * r[i]
			var ws float64
			for j := 0; j < cols; j++ {
				g[k][j] -= gk * float64(W[i*cols+j]) * r[i]
				ws += float64(W[i*cols+j]) * s[j]
			}
			g[k+1][i] -= gk * beta * ws
		}
		for j := 0; j < cols; j++ {
			g[k][j] += gk * beta * s[j]
		}
		gk *= m.Gamma
	}
	out := make([]float64, 0, p.dim())
	for k := 1; k <= p.last(); k++ {
		out = append(out, g[k]...)
	}
	return e, out
}

func (p problem) bounds() (lo, hi []float64) {
	for k := 1; k <= p.last(); k++ {
		l, h := p.m.Acts[k-1].Bounds()
		for i := 0; i < p.m.Sizes[k]; i++ {
			lo = append(lo, float64(l))
			hi = append(hi, float64(h))
		}
	}
	return lo, hi
}

// hessian assembles the (constant) Hessian of E over the variables.
func (p problem) hessian(fixed []float32) []float64 {
	n := p.dim()
	z := make([]float64, n)
	_, g0 := p.grad64(z, fixed)
	h := make([]float64, n*n)
	for j := 0; j < n; j++ {
		z[j] = 1
		_, g := p.grad64(z, fixed)
		z[j] = 0
		for i := 0; i < n; i++ {
			h[i*n+j] = g[i] - g0[i]
		}
	}
	return h
}

// minNormSubgrad returns the norm of the smallest element of
// ∇E + N_C at z (z must be feasible).
func minNormSubgrad(g, z, lo, hi []float64) float64 {
	var s float64
	for i, v := range g {
		switch {
		case z[i] <= lo[i] && v > 0:
			v = 0
		case z[i] >= hi[i] && v < 0:
			v = 0
		}
		s += v * v
	}
	return math.Sqrt(s)
}

// solvePG minimises E over the box by projected gradient descent in
// float64 (step 1/λ_max, FISTA momentum with restarts) until the
// min-norm subgradient is below tol; it returns the minimiser and the
// final subgradient norm. It is independent of the BCD code.
func (p problem) solvePG(fixed []float32, tol float64, maxIter int) ([]float64, float64) {
	n := p.dim()
	ev := linalg.SymEigenvalues(p.hessian(fixed), n)
	step := 1 / ev[n-1]
	lo, hi := p.bounds()
	proj := func(v []float64) {
		for i := range v {
			v[i] = math.Min(math.Max(v[i], lo[i]), hi[i])
		}
	}
	z := make([]float64, n)
	proj(z)
	y := append([]float64(nil), z...)
	prev := append([]float64(nil), z...)
	tk := 1.0
	var res float64
	for it := 0; it < maxIter; it++ {
		_, g := p.grad64(y, fixed)
		copy(prev, z)
		for i := range z {
			z[i] = y[i] - step*g[i]
		}
		proj(z)
		_, gz := p.grad64(z, fixed)
		res = minNormSubgrad(gz, z, lo, hi)
		if res < tol {
			break
		}
		tn := (1 + math.Sqrt(1+4*tk*tk)) / 2
		var dot float64
		for i := range z {
			dot += (z[i] - prev[i]) * (y[i] - z[i])
		}
		if dot > 0 { // adaptive restart of the momentum
			tk = 1
			copy(y, z)
			continue
		}
		for i := range y {
			y[i] = z[i] + (tk-1)/tn*(z[i]-prev[i])
		}
		tk = tn
	}
	return z, res
}

// robustDistance loads the shipped certified-robust model (large weights:
// slow BCD) and the first n test images of testdata, runs a reference of
// refPasses passes of refSweeps sweeps (the minimiser to the float32
// floor), and returns the solver and the rms distance, over the inputs,
// of the state after passes passes of sweeps sweeps to that reference.
func robustDistance(t *testing.T, n, refSweeps, refPasses int) (*Solver, func(sweeps, passes int) float64) {
	t.Helper()
	m, err := Load("../testdata/mnist-robust-784-256-256-10.bin")
	require.NoError(t, err)
	im, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	x := im.Pixels[:n*m.Sizes[0]]
	s, err := NewSolver(m)
	require.NoError(t, err)
	ref := s.NewStates(n)
	require.NoError(t, s.SetSweeps(refSweeps))
	require.NoError(t, s.Free(nil, x, n, refPasses, ref))
	return s, func(sweeps, passes int) float64 {
		require.NoError(t, s.SetSweeps(sweeps))
		st := s.NewStates(n)
		require.NoError(t, s.Free(nil, x, n, passes, st))
		var d float64
		for k := 1; k <= m.L(); k++ {
			for i, v := range st.Z[k] {
				e := float64(v) - float64(ref.Z[k][i])
				d += e * e
			}
		}
		return math.Sqrt(d / float64(n))
	}
}
