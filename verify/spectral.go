package verify

import (
	"fmt"
	"math"

	"github.com/lrrn/lrrn/internal/linalg"
)

// SingularBounds are bounds on the extreme singular values of one weight
// matrix W (rows×cols).
type SingularBounds struct {
	// MaxUpper is a certified upper bound: σ_max(W) ≤ MaxUpper.
	MaxUpper float64
	// MaxEstimate is the Lanczos estimate of σ_max(W) (a Ritz value). It
	// is NOT a certified bound in either direction (it approaches σ_max
	// from below, up to rounding); the paper's ρ is computed from
	// estimates like it.
	MaxEstimate float64
	// MinLower is a certified lower bound on σ_min(W), the smallest singular
	// value of Wᵀ on R^rows (zero when rows > cols). It is 0 when no
	// positive bound was certified, and in Bounds.Layers also when none
	// could change ℓ(β_k, W_k) for a matrix with more than 256 rows and
	// columns: ℓ uses σ_min only above 1/√β_k, and not at all for β_k = 0.
	MinLower float64
}

// maxDense is the largest Gram matrix order that the bounds factorise
// densely (and the widest variable layer New accepts: its Hessian block is
// d×d); larger matrices fall back to cheaper, looser certified bounds.
const maxDense = 4096

// SingularValueBounds returns certified bounds on σ_max and σ_min of the
// rows×cols row-major float32 matrix w, and the Lanczos estimate of
// σ_max.
//
// Method: W is scaled by a power of two (exactly) so that its largest entry
// is in [½, 1); the Gram matrix G (WWᵀ or WᵀW, the smaller, order n) is
// formed in float64 — each product of two float32 values is exact in
// float64, the sums make an error |ΔG| ≤ γ_m|W||W|ᵀ (m the inner dimension),
// so ‖ΔG‖₂ ≤ γ_m‖W‖_F². The Lanczos process on G estimates λ_max and
// λ_min; then a float64 Cholesky factorisation of T·I − G with a proven
// rounding margin (eigLowerChol) certifies λ_max(G) ≤ T', for T slightly
// above the estimate (raised until the proof succeeds). For σ_min, one
// Cholesky factorisation of G − s·I certifies λ_min(WWᵀ) ≥ s' for s just
// below the λ_min estimate (certifyLower). Square roots and the unscaling are rounded outwards.
func SingularValueBounds(w []float32, rows, cols int) (SingularBounds, error) {
	return singularBounds(w, rows, cols, -1)
}

// singularBounds computes the bounds. minAbove < 0 asks for the best
// σ_min bound; minAbove ≥ 0 says that only a bound above minAbove matters
// (ℓ(β, W) uses σ_min only when it exceeds 1/√β; +Inf: none does), so the
// σ_min factorisation is tried only when the estimate is above minAbove.
func singularBounds(w []float32, rows, cols int, minAbove float64) (SingularBounds, error) {
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return SingularBounds{}, fmt.Errorf("verify: matrix of %d values is not %d×%d", len(w), rows, cols)
	}
	var maxAbs float64
	for i, v := range w {
		a := math.Abs(float64(v))
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return SingularBounds{}, fmt.Errorf("verify: matrix entry [%d,%d] = %v is not finite", i/cols, i%cols, v)
		}
		maxAbs = max(maxAbs, a)
	}
	if maxAbs == 0 {
		return SingularBounds{}, nil
	}
	_, e := math.Frexp(maxAbs) // maxAbs·2^-e in [½, 1)
	scale := math.Ldexp(1, -e)

	n, m := rows, cols
	wideRows := rows <= cols // G = WWᵀ (rows×rows), else WᵀW (cols×cols)
	if !wideRows {
		n, m = cols, rows
	}
	ws, frobUp := scaledGramFactor(w, rows, cols, scale, wideRows)

	var b SingularBounds
	if n > maxDense {
		// Too large to factorise: ‖W‖₂ ≤ ‖W‖_F, and no σ_min bound.
		b.MaxUpper = math.Ldexp(sqrtUp(frobUp), e)
		b.MaxEstimate = b.MaxUpper
		return b, nil
	}
	G := make([]float64, n*n)
	linalg.Gram(G, ws, n, m)
	// ‖ΔG‖₂ ≤ γ_m ‖W‖_F² plus m·n underflow terms (cannot occur after the
	// scaling for float32 data, counted anyway).
	epsG := mulUp(mulUp(gamma(m, u64), frobUp), safety) + float64(n*m)*tiny64

	steps, ltol := lanczosPlan(n, 1e-12)
	loG, lam := linalg.Lanczos(n, steps, ltol, func(y, x []float64) { linalg.SymMatVec(y, G, x, n, 1) })
	lam = max(lam, 0)
	work := make([]float64, n*n)
	upper := certifyMaxEig(G, n, lam, epsG, work)
	if math.IsNaN(upper) || upper > frobUp {
		upper = frobUp // ‖W‖₂² ≤ ‖W‖_F² always holds
	}
	b.MaxUpper = math.Ldexp(sqrtUp(upper), e)
	b.MaxEstimate = math.Ldexp(math.Sqrt(lam), e)

	if wideRows { // σ_min of Wᵀ on R^rows: λ_min(WWᵀ) = λ_min(G)
		// From the Lanczos estimate (an upper bound of λ_min in exact
		// arithmetic), one certifying factorisation a relative muTol
		// below it (certifyLower). With minAbove ≥ 0 only a bound above
		// minAbove² matters: when the estimate is not above it, no
		// factorisation could succeed there (up to rounding) and none is
		// tried.
		s := 0.0
		if minAbove >= 0 {
			s = up(minAbove * minAbove * scale * scale) // in the scaled units
		}
		if loG > s {
			tol := muTol
			if n <= lanczosFull { // float64 Lanczos over the whole space
				tol = 1e-8
			}
			assemble := func(dst []float64) { copy(dst, G) }
			if lb := certifyLower(n, assemble, nil, loG, epsG, tol, upper, work); lb > s {
				b.MinLower = math.Ldexp(sqrtDown(lb), e)
			}
		}
	}
	return b, nil
}

// scaledGramFactor returns W·scale (exact: scale is a power of two) with
// the Gram matrix's inner dimension contiguous — W itself (rows×cols) when
// wideRows, Wᵀ (cols×rows) otherwise — and an upper bound of its ‖·‖_F².
func scaledGramFactor(w []float32, rows, cols int, scale float64, wideRows bool) (ws []float64, frobUp float64) {
	m := cols
	if !wideRows {
		m = rows
	}
	ws = make([]float64, rows*cols)
	var frob float64
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := float64(w[i*cols+j]) * scale // exact
			frob += v * v
			if wideRows {
				ws[i*m+j] = v
			} else {
				ws[j*m+i] = v
			}
		}
	}
	return ws, mulUp(frob, 1+gamma(rows*cols, u64)) // ≥ ‖W‖_F² (scaled)
}

// certifyMaxEig returns a certified upper bound of λ_max(G) (n×n, its
// rounding error ‖ΔG‖₂ ≤ epsG), or NaN when no proof succeeded: a
// Cholesky factorisation of T·I − G (eigLowerChol) at T just above the
// estimate lam, raised ×16 in its distance until the proof succeeds, then
// tightened by bisection between the last failure and the success when
// the first try failed. G is negated in place (exact) and restored.
func certifyMaxEig(G []float64, n int, lam, epsG float64, work []float64) float64 {
	// Certify λ_max(G) ≤ T: λ_min(−G) ≥ lb with B = −G + T·I.
	neg := G
	for i := range neg {
		neg[i] = -neg[i]
	}
	upper := math.NaN()
	kappa := 4*float64(n*n)*u64 + 1e-15
	failedT := lam
	for try := 0; try < 60; try++ {
		T := lam*(1+kappa) + epsG
		if lb, ok := eigLowerChol(neg, n, -T, epsG, work); ok {
			upper = -lb
			// Tighten between the last failure and this success (when
			// the first try failed: the estimate was off).
			lo, hi := failedT, T
			steps := 40
			if try == 0 {
				steps = 0 // already within 4n²u of the estimate
			}
			for step := 0; step < steps && hi-lo > 1e-13*hi; step++ {
				mid := lo + (hi-lo)/2
				if lb, ok := eigLowerChol(neg, n, -mid, epsG, work); ok {
					upper = min(upper, -lb)
					hi = mid
				} else {
					lo = mid
				}
			}
			break
		}
		failedT = T
		kappa *= 16
	}
	for i := range G {
		G[i] = -G[i]
	}
	return upper
}
