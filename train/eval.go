package train

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
)

// Eval is the evaluation of a model on a labelled set.
type Eval struct {
	Accuracy     float64 // fraction of inputs whose argmax ž_L is the label
	Rho          float64 // Lipschitz bound ρ = Π ℓ(β_k, W_k) over [σ_min, σ_max]
	RhoSeedStyle float64 // Π over σ_max only: (1+β)σ_max/(1+βσ_max²), see docs/training.md
	MeanMargin   float64 // mean of m = ž_L[y] − max_{j≠y} ž_L[j]
	MedianMargin float64
	MedianDelta  float64 // median(m) / (√2 ρ)
}

// Evaluate runs free inference (passes BCD passes) on every input of d
// with `workers` goroutines and returns accuracy, margins and ρ.
//
// TEMPORARY: ρ and the margins are computed here only until package verify
// lands; then they come from verify (one implementation of margins and ρ
// in the project). The singular values come from a float64 Jacobi
// eigen-solver (accurate, but not a certified bound).
func Evaluate(m *lrrn.Model, d *Data, passes, workers int) (Eval, error) {
	if err := d.Validate(); err != nil {
		return Eval{}, err
	}
	if d.D != m.Sizes[0] {
		return Eval{}, fmt.Errorf("train: test inputs have %d values, the model's first layer %d", d.D, m.Sizes[0])
	}
	s, err := lrrn.NewSolver(m)
	if err != nil {
		return Eval{}, err
	}
	workers = max(1, workers)
	margins := make([]float64, d.N)
	correct := make([]int, workers)
	errs := make([]error, workers)
	L := m.L()
	dL := m.Sizes[L]
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ws := s.NewWorkspace()
			const chunk = 256
			st := s.NewStates(chunk)
			for c0 := w * chunk; c0 < d.N; c0 += workers * chunk {
				n := min(chunk, d.N-c0)
				if err := s.Free(ws, d.X[c0*d.D:(c0+n)*d.D], n, passes, st); err != nil {
					errs[w] = err
					return
				}
				for i := 0; i < n; i++ {
					out := st.Z[L][i*dL : (i+1)*dL]
					y := int(d.Labels[c0+i])
					mg, pred := margin(out, y)
					margins[c0+i] = mg
					if pred == y {
						correct[w]++
					}
				}
			}
		}(w)
	}
	wg.Wait()
	var ev Eval
	for w := range errs {
		if errs[w] != nil {
			return ev, errs[w]
		}
		ev.Accuracy += float64(correct[w])
	}
	ev.Accuracy /= float64(d.N)
	var sum float64
	for _, v := range margins {
		sum += v
	}
	ev.MeanMargin = sum / float64(d.N)
	slices.Sort(margins)
	ev.MedianMargin = median(margins)
	ev.Rho, ev.RhoSeedStyle = Lipschitz(m)
	ev.MedianDelta = ev.MedianMargin / (math.Sqrt2 * ev.Rho)
	return ev, nil
}

// margin returns out[y] − max_{j≠y} out[j] in float64 and the argmax.
func margin(out []float32, y int) (float64, int) {
	best, pred := math.Inf(-1), 0
	other := math.Inf(-1)
	for j, v := range out {
		f := float64(v)
		if f > best {
			best, pred = f, j
		}
		if j != y && f > other {
			other = f
		}
	}
	return float64(out[y]) - other, pred
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return 0.5 * (sorted[n/2-1] + sorted[n/2])
}

// Lipschitz returns ρ = Π_k ℓ(β_k, W_k) with ℓ maximised over
// [σ_min, σ_max] (docs/math.md), and the "seed-style" product that
// evaluates ℓ at σ_max only. TEMPORARY until package verify lands (see
// Evaluate).
func Lipschitz(m *lrrn.Model) (rho, seedStyle float64) {
	rho, seedStyle = 1, 1
	for k := 0; k < m.L(); k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		w := make([]float64, rows*cols)
		for i, v := range m.W[k] {
			w[i] = float64(v)
		}
		sv := linalg.SingularValues(w, rows, cols)
		smax := sv[0]
		smin := 0.0
		if rows <= cols {
			smin = sv[len(sv)-1]
		}
		beta := m.Beta[k]
		if beta == 0 {
			rho *= smax
			seedStyle *= smax
			continue
		}
		f := func(s float64) float64 { return (1 + beta) * s / (1 + beta*s*s) }
		peak := 1 / math.Sqrt(beta)
		l := max(f(smin), f(smax))
		if smin <= peak && peak <= smax {
			l = f(peak)
		}
		rho *= l
		seedStyle *= f(smax)
	}
	return rho, seedStyle
}

// SingularRange returns [σ_max, σ_min] of every W_k (σ_min = 0 when W_k
// has more rows than columns). TEMPORARY with Lipschitz.
func SingularRange(m *lrrn.Model) [][2]float64 {
	out := make([][2]float64, m.L())
	for k := 0; k < m.L(); k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		w := make([]float64, rows*cols)
		for i, v := range m.W[k] {
			w[i] = float64(v)
		}
		sv := linalg.SingularValues(w, rows, cols)
		out[k][0] = sv[0]
		if rows <= cols {
			out[k][1] = sv[len(sv)-1]
		}
	}
	return out
}

// MeanFreeEnergy returns the mean over d of F(x) = E(ž(x); x), the free
// state inferred with `passes` passes, energies in float64.
func MeanFreeEnergy(m *lrrn.Model, d *Data, passes, workers int) (float64, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	if d.D != m.Sizes[0] {
		return 0, fmt.Errorf("train: inputs have %d values, the model's first layer %d", d.D, m.Sizes[0])
	}
	s, err := lrrn.NewSolver(m)
	if err != nil {
		return 0, err
	}
	workers = max(1, workers)
	sums := make([]float64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ws := s.NewWorkspace()
			const chunk = 256
			st := s.NewStates(chunk)
			z := make([][]float32, m.L()+1)
			for c0 := w * chunk; c0 < d.N; c0 += workers * chunk {
				n := min(chunk, d.N-c0)
				if err := s.Free(ws, d.X[c0*d.D:(c0+n)*d.D], n, passes, st); err != nil {
					errs[w] = err
					return
				}
				for i := 0; i < n; i++ {
					for k := 1; k <= m.L(); k++ {
						z[k] = st.Layer(k, i)
					}
					sums[w] += m.Energy(d.X[(c0+i)*d.D:(c0+i+1)*d.D], z)
				}
			}
		}(w)
	}
	wg.Wait()
	var sum float64
	for w := range sums {
		if errs[w] != nil {
			return 0, errs[w]
		}
		sum += sums[w]
	}
	return sum / float64(d.N), nil
}
