package verify

import (
	"fmt"
	"math"

	"github.com/lrrn/lrrn/lrrn"
)

// ellUpper returns a certified upper bound of
//
//	ℓ(β, W) = max{ (1+β)s/(1+βs²) : σ_min ≤ s ≤ σ_max }   (β > 0),  ℓ(0, W) = σ_max
//
// from certified bounds lo ≤ σ_min and hi ≥ σ_max. The function
// f(s) = (1+β)s/(1+βs²) increases up to s = 1/√β and decreases after, with
// peak value (1+β)/(2√β); the maximum over [lo, hi] ⊇ [σ_min, σ_max] is
// f(hi) when hi ≤ 1/√β, f(lo) when lo ≥ 1/√β and the peak otherwise. The
// branch conditions are checked with directed rounding, so a borderline
// case falls to the peak, which bounds f everywhere.
func ellUpper(beta, lo, hi float64) float64 {
	if beta == 0 {
		return hi
	}
	onePlus := up(1 + beta)
	peak := divUp(onePlus, mulDown(2, sqrtDown(beta)))
	f := func(s float64) float64 {
		return divUp(mulUp(onePlus, s), addDown(1, mulDown(beta, mulDown(s, s))))
	}
	switch {
	case mulUp(mulUp(hi, hi), beta) < 1:
		return min(f(hi), peak)
	case mulDown(mulDown(lo, lo), beta) > 1:
		return min(f(lo), peak)
	}
	return peak
}

// ellEstimate is the paper's estimate of ℓ: the formula evaluated at the
// estimate of σ_max (a Lanczos Ritz value) only. It is NOT a bound: the
// estimate approaches σ_max from below, and when σ_min < 1/√β < σ_max the
// maximum over the interval (the peak) exceeds f(σ_max).
func ellEstimate(beta, sigmaMax float64) float64 {
	if beta == 0 {
		return sigmaMax
	}
	return (1 + beta) * sigmaMax / (1 + beta*sigmaMax*sigmaMax)
}

// minNeeded returns the σ_min threshold above which ℓ(β, ·) uses σ_min
// (1/√β), or +Inf for β = 0, where ℓ = σ_max and σ_min plays no role (no
// σ_min bound is then certified: singularBounds with minAbove = +Inf).
func minNeeded(beta float64) float64 {
	if beta == 0 {
		return math.Inf(1)
	}
	return 1 / math.Sqrt(beta)
}

// Lipschitz returns the Lipschitz part of a model's Bounds — the certified
// per-layer factors ℓ_k, ρ = Π_k ℓ_k, RhoPre and the paper's estimate —
// without the Hessian work of New (Mu and MuBest are zero). A model that
// changes often (training reports ρ after every epoch) needs only this.
func Lipschitz(m *lrrn.Model) (Bounds, error) {
	if err := m.Validate(); err != nil {
		return Bounds{}, err
	}
	return lipschitzBounds(m)
}

// lipschitzBounds computes the model's Bounds (ρ = Π_k ℓ(β_k, W_k), RhoPre
// and the paper's estimate, from certified singular value bounds), Mu and
// MuBest left zero.
func lipschitzBounds(m *lrrn.Model) (Bounds, error) {
	L := m.L()
	b := Bounds{Reduced: m.ReducedOutput(), Blocks: L, Rho: 1, RhoPre: 1, RhoEstimate: 1}
	if b.Reduced {
		b.Blocks = L - 1
	}
	for k := 0; k < L; k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		need := -1.0 // full σ_min bound for small matrices, for the report
		if min(rows, cols) > 256 {
			need = minNeeded(m.Beta[k])
		}
		sb, err := singularBounds(m.W[k], rows, cols, need)
		if err != nil {
			return Bounds{}, fmt.Errorf("verify: W_%d: %w", k, err)
		}
		lb := LayerBound{Rows: rows, Cols: cols, Beta: m.Beta[k], SingularBounds: sb}
		lb.Ell = ellUpper(m.Beta[k], sb.MinLower, sb.MaxUpper)
		lb.EllEstimate = ellEstimate(m.Beta[k], sb.MaxEstimate)
		b.Layers = append(b.Layers, lb)
		b.Rho = mulUp(b.Rho, lb.Ell)
		if k < L-1 {
			b.RhoPre = mulUp(b.RhoPre, lb.Ell)
		}
		b.RhoEstimate *= lb.EllEstimate
	}
	// A factor ℓ_k = 0 (W_k = 0 with β_k = 0) makes the product exactly 0
	// (the other factors are finite), which mulUp's rounding would turn
	// into 5e-324.
	for k, lb := range b.Layers {
		if lb.Ell == 0 && !math.IsInf(b.Rho, 0) && !math.IsNaN(b.Rho) {
			b.Rho = 0
			if k < L-1 && !math.IsInf(b.RhoPre, 0) && !math.IsNaN(b.RhoPre) {
				b.RhoPre = 0
			}
		}
	}
	return b, nil
}

// lipschitz sets the certifier's Bounds (lipschitzBounds) and the factors
// of the radii: 1/(√2ρ) and 1/RhoPre, rounded down.
func (c *Certifier) lipschitz() error {
	b, err := lipschitzBounds(c.m)
	if err != nil {
		return err
	}
	c.bounds = b
	c.invS2Rho = divDown(1, mulUp(math.Sqrt2*(1+u64), b.Rho))
	c.invRhoPre = divDown(1, b.RhoPre)
	// ρ = 0 (all weights zero): the output does not depend on the input and
	// a certified radius is unbounded, +Inf (divDown would give
	// MaxFloat64, a finite radius of 309 digits).
	if b.Rho == 0 {
		c.invS2Rho = math.Inf(1)
	}
	if b.RhoPre == 0 {
		c.invRhoPre = math.Inf(1)
	}
	return nil
}
