package train

import (
	"context"
	"math"

	"sync"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

// Eval is the evaluation of a model on a labelled set. ρ, the margins and
// the radii come from package verify (the project's one implementation of
// them).
type Eval struct {
	Accuracy     float64 // fraction of inputs whose argmax ž_L is the label
	Rho          float64 // certified Lipschitz bound ρ = Π ℓ(β_k, W_k) (verify.Bounds.Rho)
	RhoEstimate  float64 // paper's estimate from σ_max only, NOT sound (verify.Bounds.RhoEstimate)
	MeanMargin   float64 // mean of m = ž_L[y] − max_{j≠y} ž_L[j]
	MedianMargin float64
	MedianDelta  float64 // the paper's median δ: median(m) / (√2 ρ)
	// MedianRadius is the median certified radius of verify (0 for inputs
	// that are misclassified or not certified).
	MedianRadius float64
	// Certified[i] is the fraction of inputs certified at radius
	// CertRadii[i]: max(δ, δ_pair) > ε for the label (as lrrn-verify).
	Certified [len(CertRadii)]float64
	Bounds    verify.Bounds
}

// CertRadii are the ℓ2 radii of the certified accuracies recorded after
// every epoch (1.58 is the radius the literature reports for MNIST).
var CertRadii = [3]float64{0.5, 1.0, 1.58}

// Evaluate runs free inference (passes BCD passes; 0: passes as needed,
// verify's default) on every input of d with `workers` goroutines through
// verify's Certifier and returns the accuracy, margins, radii and ρ.
func Evaluate(m *lrrn.Model, d *idx.Labelled, passes, workers int) (Eval, error) {
	return evaluate(m, d, verify.Options{Passes: passes, Workers: max(1, workers)})
}

// evaluate is Evaluate with the certifier's options given (the trainer's
// sweeps per pass).
func evaluate(m *lrrn.Model, d *idx.Labelled, vo verify.Options) (Eval, error) {
	if err := checkData(m, d, "test data"); err != nil {
		return Eval{}, err
	}
	c, err := verify.New(m, vo)
	if err != nil {
		return Eval{}, err
	}
	labels := make([]int, d.N)
	for i, y := range d.Labels {
		labels[i] = int(y)
	}
	certs := make([]verify.Certificate, d.N)
	if err := c.CertifyBatch(context.Background(), d.Pixels, labels, certs); err != nil {
		return Eval{}, err
	}
	ev := Eval{Bounds: c.Bounds()}
	ev.Rho, ev.RhoEstimate = ev.Bounds.Rho, ev.Bounds.RhoEstimate
	margins := make([]float64, d.N)
	radii := make([]float64, d.N)
	var sum float64
	correct := 0
	for i, ct := range certs {
		margins[i] = ct.Margin
		radii[i] = ct.Radius
		sum += ct.Margin
		if ct.Pred == labels[i] {
			correct++
		}
		best := ct.Radius
		if !math.IsNaN(ct.PairRadius) {
			best = max(best, ct.PairRadius)
		}
		for r, eps := range CertRadii {
			if ct.Certified && best > eps {
				ev.Certified[r]++
			}
		}
	}
	ev.Accuracy = float64(correct) / float64(d.N)
	for r := range ev.Certified {
		ev.Certified[r] /= float64(d.N)
	}
	ev.MeanMargin = sum / float64(d.N)
	ev.MedianMargin = stats.Median(margins)
	ev.MedianRadius = stats.Median(radii)
	ev.MedianDelta = ev.MedianMargin / (math.Sqrt2 * ev.Rho)
	return ev, nil
}

// lipschitz returns verify's certified ρ and the paper's estimate (not
// sound), for the epochs evaluated without a labelled set.
func lipschitz(m *lrrn.Model) (rho, estimate float64, err error) {
	b, err := verify.Lipschitz(m)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	return b.Rho, b.RhoEstimate, nil
}

// MeanFreeEnergy returns the mean over d of F(x) = E(ž(x); x), the free
// state inferred with `passes` passes, energies in float64.
func MeanFreeEnergy(m *lrrn.Model, d *idx.Labelled, passes, workers int) (float64, error) {
	if err := checkData(m, d, "data"); err != nil {
		return 0, err
	}
	s, err := lrrn.NewSolver(m)
	if err != nil {
		return 0, err
	}
	workers = max(1, workers)
	D := d.Dim()
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
				if err := s.Free(ws, d.Pixels[c0*D:(c0+n)*D], n, passes, st); err != nil {
					errs[w] = err
					return
				}
				for i := 0; i < n; i++ {
					for k := 1; k <= m.L(); k++ {
						z[k] = st.Layer(k, i)
					}
					sums[w] += m.Energy(d.Image(c0+i), z)
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
