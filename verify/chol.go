package verify

import (
	"math"

	"github.com/lrrn/lrrn/internal/linalg"
)

// eigLowerChol tries to prove a lower bound on the smallest eigenvalue of a
// symmetric matrix by one floating-point Cholesky factorisation.
//
// a is an n×n row-major float64 matrix (only its lower triangle is read)
// that stands for an exact symmetric matrix A with ‖A − a‖₂ ≤ eps. It
// factorises B = a − sI in float64 and, when the factorisation runs to
// completion (every pivot positive), returns a certified lower bound of
// λ_min(A) and true. work needs n·n entries.
//
// Derivation (Demmel 1989; Rump, BIT 2006; Higham, Accuracy and Stability,
// Thm. 10.3):
//
//  1. The stored B̂ equals a − sI + Δ_d with Δ_d diagonal and
//     |Δ_d,ii| ≤ u·|b̂_ii|/(1−u): only the diagonal subtraction rounds.
//  2. If Cholesky runs to completion on B̂, the computed factor R̂ satisfies
//     R̂ᵀR̂ = B̂ + ΔB with |ΔB| ≤ γ_{n+1}|R̂ᵀ||R̂| (any order of the inner
//     products, fused or not). Hence ‖ΔB‖₂ ≤ γ_{n+1}‖R̂‖_F², and the
//     diagonal gives ‖R̂‖_F² = tr(B̂) + tr(ΔB) ≤ tr(B̂)/(1−γ_{n+1}).
//     Every b̂_jj is positive (a pivot b̂_jj − Σ r̂²_kj > 0 in floating
//     point), so tr(B̂) > 0.
//  3. Underflow adds at most (n + 1 + r̂_ii) tiny absolute errors per entry
//     of ΔB (products and the division; additions are exact there), so
//     ‖ΔB‖₂ grows by at most 4n(2(n+1) + max b̂_ii)·tiny, with tiny the
//     smallest normal float64 (this also covers flush-to-zero).
//  4. R̂ᵀR̂ is positive semidefinite, so λ_min(B̂) ≥ −‖ΔB‖₂, and
//     λ_min(A) ≥ λ_min(a) − eps ≥ s + λ_min(B̂) − ‖Δ_d‖₂ − eps.
//
// All of it is evaluated with directed rounding.
func eigLowerChol(a []float64, n int, s, eps float64, work []float64) (float64, bool) {
	if n == 0 {
		return math.Inf(1), true
	}
	r := work[:n*n]
	for j := 0; j < n; j++ {
		copy(r[j*n:j*n+j+1], a[j*n:j*n+j+1])
	}
	return eigLowerCholInPlace(r, n, s, eps, nil)
}

// eigLowerCholInPlace is eigLowerChol on the lower triangle of a matrix
// already in r (overwritten by the factorisation). first, when not nil, is
// the matrix's envelope (linalg.Cholesky): the entries of row i before
// column first[i] are zero.
func eigLowerCholInPlace(r []float64, n int, s, eps float64, first []int) (float64, bool) {
	if n == 0 {
		return math.Inf(1), true
	}
	var trace, maxDiag float64
	for j := 0; j < n; j++ {
		b := r[j*n+j] - s
		if !(b > 0) {
			return 0, false
		}
		r[j*n+j] = b
		trace += b
		maxDiag = max(maxDiag, b)
	}
	// The blocked factorisation evaluates every entry as (b̂_ij − Σ r̂_ip
	// r̂_jp)/r̂_jj in some order: step 2 holds for it (linalg.Cholesky).
	if linalg.Cholesky(r, n, first) != nil {
		return 0, false
	}
	g := gamma(n+1, u64)
	// trace was summed with rounding: true tr(B̂) ≤ trace·(1+γ_n).
	tr := mulUp(trace, 1+gamma(n, u64))
	dB := mulUp(divUp(g, down(1-g)), tr)
	under := mulUp(4*float64(n), addUp(2*float64(n+1), maxDiag)) * tiny64
	dB = addUp(dB, up(under))
	dd := divUp(mulUp(u64, maxDiag), down(1-u64))
	loss := addUp(addUp(dB, dd), eps)
	lb := subDown(s, loss)
	if math.IsNaN(lb) {
		return 0, false
	}
	return lb, true
}

// eigLowerBisect returns the best certified lower bound of λ_min(A) that
// eigLowerChol proves for shifts between lo and hi, by bisection over the
// shift with at most steps factorisations. ok is false when even the shift
// lo cannot be certified.
func eigLowerBisect(a []float64, n int, lo, hi, eps float64, steps int, work []float64) (float64, bool) {
	best, ok := eigLowerChol(a, n, lo, eps, work)
	if !ok {
		return 0, false
	}
	for i := 0; i < steps && hi > lo; i++ {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if lb, ok := eigLowerChol(a, n, mid, eps, work); ok {
			best = max(best, lb)
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo <= 1e-13*math.Abs(hi) {
			break
		}
	}
	return best, true
}
