package verify

import "math"

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
// (1/√β), or −1 for β = 0 where σ_min plays no role.
func minNeeded(beta float64) float64 {
	if beta == 0 {
		return math.Inf(1)
	}
	return 1 / math.Sqrt(beta)
}
