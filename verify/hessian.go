package verify

import (
	"math"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
)

// This file holds the per-model quantities of the inexact-inference bound:
// the block-scaled Hessian of the free problem, its certified smallest
// eigenvalue μ, and the matrices and error coefficients of the residual.
//
// The free problem has variable blocks z_1 … z_K: K = L−1 when the output
// is eliminated (linear output, β_{L−1} = 0: docs/math.md, "reduced form"),
// K = L otherwise. Its energy is a quadratic with Hessian H whose block
// (k,k) is γ^{k−1}·Hs_k and block (k+1,k) is −γ^k(1+β_k)W_k, where
//
//	Hs_k = I + β_{k−1}W_{k−1}W_{k−1}ᵀ + [k<K] γ(W_kᵀW_k + β_k I).
//
// For block weights D_k = γ^{k−1}τ_k > 0 the scaled Hessian
// S = D^{−1/2} H D^{−1/2} has blocks S_kk = Hs_k/τ_k and
// S_{k+1,k} = −√γ(1+β_k)W_k/√(τ_kτ_{k+1}) — the γ powers cancel, which is
// why this scaling keeps λ_min(S) from being needlessly small.
//
// Bound. Let z̃ be feasible, ž the minimiser, e = z̃ − ž, and g any element
// of ∂(E + ι_C)(z̃). Monotonicity of the normal cone gives
// ⟨g, e⟩ ≥ eᵀHe ≥ μ‖e‖²_D with μ = λ_min(S), and ⟨g, e⟩ ≤ ‖g‖_{D⁻¹}‖e‖_D,
// so ‖e‖_D ≤ ‖g‖_{D⁻¹}/μ and, for the last block,
//
//	‖e_K‖ ≤ ‖g‖_{D⁻¹} / (μ √D_K),   ‖g‖²_{D⁻¹} = Σ_k (γ^{k−1}/τ_k)‖g̃_k‖²
//
// where g̃_k = g_k/γ^{k−1} = Hs_k z_k − cs_k is the block gradient in the
// solver's scaling. The certifier keeps a few choices of τ and uses the
// smallest bound per input (each one is valid).

// tauCandidates returns the block-weight vectors τ tried per model: τ_k =
// t^{k−1} for a few t, including t = 1 (the plain γ^{k−1} scaling).
func tauCandidates(K int) [][]float64 {
	if K <= 1 {
		return [][]float64{{1}}
	}
	var out [][]float64
	for _, t := range []float64{1, 0.25, 4, 0.0625} {
		tau := make([]float64, K)
		v := 1.0
		for k := range tau {
			tau[k] = v
			v *= t
		}
		out = append(out, tau)
	}
	return out
}

// hessian holds the per-model data of the scaled Hessians S (one per
// block scaling τ): the diagonal blocks Hs_k (float64, computed once and
// shared by every τ and by the residual's data) and the block offsets.
type hessian struct {
	m    *lrrn.Model
	K, N int
	hs   [][]float64 // hs[k−1] = Hs_k, d_k×d_k
	fro2 []float64
	offs []int
	// sigma[k] ≥ ‖W_k‖₂ (certified), for the Gershgorin bound; nil:
	// computed when needed. New passes the Lipschitz bounds' values.
	sigma []float64
}

// newHessian returns the hessian of m's free problem (K blocks) from its
// blocks Hs_k, as lrrn.NewSolverHessians returns them (nil: built here by
// lrrn.Model.HessianBlock, the same builder).
func newHessian(m *lrrn.Model, K int, fro2 []float64, hs [][]float64) *hessian {
	if hs == nil {
		for k := 1; k <= K; k++ {
			hs = append(hs, m.HessianBlock(k, k < K))
		}
	}
	h := &hessian{m: m, K: K, fro2: fro2, offs: make([]int, K+2), hs: hs[:K]}
	for k := 1; k <= K; k++ {
		h.offs[k+1] = h.offs[k] + m.Sizes[k]
	}
	h.N = h.offs[K+1]
	return h
}

// coef returns √γ(1+β_k)/√(τ_kτ_{k+1}): S_{k+1,k} = −coef·W_k.
func (h *hessian) coef(tau []float64, k int) float64 {
	return math.Sqrt(h.m.Gamma) * (1 + h.m.Beta[k]) / math.Sqrt(tau[k-1]*tau[k])
}

// errors returns eps ≥ ‖S − Ŝ‖₂, the bound on the rounding error of the
// assembled S for weights τ, and its smallest diagonal entry.
//
// Entry errors: a Gram entry Σ_p w_ip w_jp of float32 weights is computed
// in float64 with error ≤ γ_m Σ_p|w_ip w_jp| ≤ γ_m‖w_i‖‖w_j‖ (m the inner
// dimension, any order of summation); the few scalings and additions that
// follow stay within γ_{m+6} of the sum of the terms' magnitudes.
// Dominated entrywise by γ_{m+6}((1+γβ_k)/τ_k·I + β_{k−1}/τ_k·nnᵀ +
// γ/τ_k·ccᵀ) (n_i, c_i row and column norms), the diagonal block's error
// has 2-norm at most γ_{m+6}(1 + γβ_k + β_{k−1}‖W_{k−1}‖_F² +
// γ‖W_k‖_F²)/τ_k. An off-diagonal entry is one float32 weight times a
// computed coefficient: relative error γ_6, 2-norm ≤ γ_6·coef·‖W_k‖_F. For
// the block-tridiagonal error, ‖ΔS‖₂ ≤ max_k‖ΔS_kk‖ + 2·max_k‖ΔS_{k+1,k}‖.
func (h *hessian) errors(tau []float64) (eps, minDiag float64) {
	m, g := h.m, h.m.Gamma
	var epsDiag, epsOff float64
	minDiag = math.Inf(1)
	for k := 1; k <= h.K; k++ {
		d := m.Sizes[k]
		hs := h.hs[k-1]
		inv := 1 / tau[k-1]
		for i := 0; i < d; i++ {
			minDiag = min(minDiag, hs[i*d+i]*inv)
		}
		mk := m.Sizes[k-1]
		mag := 1 + m.Beta[k-1]*h.fro2[k-1]
		if k < h.K {
			mk = max(mk, m.Sizes[k+1])
			mag += g * (h.fro2[k] + m.Beta[k])
		}
		e := mulUp(mulUp(gamma(mk+8, u64), mag), inv*(1+1e-15))
		epsDiag = max(epsDiag, e)
		if k < h.K {
			eo := mulUp(mulUp(gamma(8, u64), h.coef(tau, k)*(1+1e-14)), sqrtUp(h.fro2[k]))
			epsOff = max(epsOff, eo)
		}
	}
	eps = mulUp(addUp(epsDiag, 2*epsOff), safety)
	return eps, minDiag
}

// envelope returns, for every row of S, the first column that may be
// nonzero: S is block tridiagonal, so row i of block k starts at block
// k−1 (linalg.Cholesky skips the zeros before it).
func (h *hessian) envelope() []int {
	first := make([]int, h.N)
	for k := 2; k <= h.K; k++ {
		for i := h.offs[k]; i < h.offs[k+1]; i++ {
			first[i] = h.offs[k-1]
		}
	}
	return first
}

// assemble writes the lower triangle (and, with full, the upper one) of
// S for weights τ into dst (N×N, row-major).
func (h *hessian) assemble(tau []float64, dst []float64, full bool) {
	m, N := h.m, h.N
	for k := 1; k <= h.K; k++ {
		d, o := m.Sizes[k], h.offs[k]
		hs := h.hs[k-1]
		inv := 1 / tau[k-1]
		for i := 0; i < d; i++ {
			row := dst[(o+i)*N : (o+i)*N+N]
			jEnd := o + i + 1
			if full {
				jEnd = N
			}
			clear(row[:jEnd])
			for j := 0; j <= i || (full && j < d); j++ {
				row[o+j] = hs[i*d+j] * inv
			}
		}
	}
	for k := 1; k < h.K; k++ {
		d, o, ou := m.Sizes[k], h.offs[k], h.offs[k+1]
		coef := h.coef(tau, k)
		W := m.W[k]
		for i := 0; i < m.Sizes[k+1]; i++ {
			for j := 0; j < d; j++ {
				v := -coef * float64(W[i*d+j])
				dst[(ou+i)*N+o+j] = v
				if full {
					dst[(o+j)*N+ou+i] = v
				}
			}
		}
	}
}

// scaledHessian assembles S (N×N, row-major, float64, both triangles) for
// the first K blocks with weights τ and returns it with a bound eps ≥
// ‖S − Ŝ‖₂ on its rounding error (tests; New uses hessian directly).
func scaledHessian(m *lrrn.Model, K int, tau []float64, fro2 []float64) (S []float64, N int, eps float64) {
	h := newHessian(m, K, fro2, nil)
	S = make([]float64, h.N*h.N)
	h.assemble(tau, S, true)
	eps, _ = h.errors(tau)
	return S, h.N, eps
}

// maxDenseN is the largest number of variable units (all blocks together)
// for which μ is certified by factorising S itself (an N×N float64 work
// matrix: 512 MB at the limit); beyond, the block Gershgorin bound is used.
const maxDenseN = 8192

// muTol is the relative distance below the Lanczos estimate of λ_min(S) at
// which μ is certified (one Cholesky factorisation) for large S; small S
// (≤ 256 unknowns, where Lanczos spans the whole space and the estimate is
// limited only by the float32 products it uses, about 1e-6 relative) use
// muTolSmall.
const (
	muTol      = 1e-3
	muTolSmall = 1e-5
)

// certifyLower certifies a lower bound of λ_min(A) for the symmetric n×n
// matrix A that assemble writes (lower triangle) into work, with ‖A − Â‖₂
// ≤ eps, given an estimate est ≥ λ_min(A) (a Lanczos Ritz value): one
// Cholesky factorisation (eigLowerChol) at the shift est·(1 − tol), then,
// if the estimate was not converged, at shifts further below (×8 the
// distance each time), and last a bisection over [0, est/2]. It returns 0
// when no positive bound is proved.
func certifyLower(n int, assemble func(dst []float64), first []int, est, eps, tol, hi float64, work []float64) float64 {
	if !(est > 0) {
		return 0
	}
	est = min(est, hi)
	for try, dist := 0, tol*est; try < 4; try, dist = try+1, dist*8 {
		s := est - dist
		if !(s > 0) {
			break
		}
		assemble(work)
		if lb, ok := eigLowerCholInPlace(work, n, s, eps, first); ok {
			return max(lb, 0)
		}
	}
	// The estimate was far off: bisect from 0 (sound, only slower).
	lo, hi2 := 0.0, est/2
	best := 0.0
	for step := 0; step < 8; step++ {
		mid := lo + (hi2-lo)/2
		assemble(work)
		if lb, ok := eigLowerCholInPlace(work, n, mid, eps, first); ok {
			best, lo = max(best, lb), mid
		} else {
			hi2 = mid
		}
	}
	return best
}

// lanczosSteps bounds the Lanczos process of the μ and σ estimates, and
// lanczosFull is the order up to which it runs to the whole space (no
// early stop: the Ritz values are then the eigenvalues, up to rounding).
const (
	lanczosSteps = 160
	lanczosFull  = 256
)

// lanczosPlan returns the step limit and stopping tolerance of a Lanczos
// estimate of order n, given the tolerance for large orders.
func lanczosPlan(n int, tol float64) (int, float64) {
	if n <= lanczosFull {
		return n, 0
	}
	return lanczosSteps, tol
}

// certifiedMu returns a certified lower bound of λ_min(S) for weights τ,
// or 0 when no positive bound can be proved, given est (estimateMin). Up
// to maxDenseN unknowns it factorises S itself (certifyLower); beyond, it
// uses the block Gershgorin bound (muGershgorin). work needs N·N entries
// in the dense case (nil: allocated).
func (h *hessian) certifiedMu(tau []float64, est float64, work []float64) float64 {
	if h.K == 0 {
		return math.Inf(1)
	}
	if h.N > maxDenseN {
		return h.muGershgorin(tau)
	}
	eps, minDiag := h.errors(tau)
	if work == nil {
		work = make([]float64, h.N*h.N)
	}
	tol := muTol
	if h.N <= 256 {
		tol = muTolSmall
	}
	return certifyLower(h.N, func(dst []float64) { h.assemble(tau, dst, false) }, h.envelope(), est, eps, tol, minDiag, work)
}

// muGershgorin is certifiedMu's bound for networks too large to factorise
// S: λ_min(S) ≥ min_k(λ_min(S_kk) − ‖S_{k,k−1}‖ − ‖S_{k,k+1}‖), with each
// diagonal block factorised and the off-diagonal norms bounded by
// SingularValueBounds; 0 when no positive bound is proved.
func (h *hessian) muGershgorin(tau []float64) float64 {
	m, K := h.m, h.K
	eps, _ := h.errors(tau)
	off := make([]float64, K+1) // off[k] ≥ ‖S_{k+1,k}‖₂
	for k := 1; k < K; k++ {
		var sigma float64
		if h.sigma != nil {
			sigma = h.sigma[k]
		} else {
			sb, err := singularBounds(m.W[k], m.Sizes[k+1], m.Sizes[k], math.Inf(1))
			if err != nil {
				return 0
			}
			sigma = sb.MaxUpper
		}
		off[k] = mulUp(mulUp(sigma, h.coef(tau, k)), 1+1e-14)
	}
	mu := math.Inf(1)
	var work []float64
	for k := 1; k <= K; k++ {
		d := m.Sizes[k]
		hs := h.hs[k-1]
		if cap(work) < d*d {
			work = make([]float64, d*d)
		}
		inv := 1 / tau[k-1]
		bmin := math.Inf(1)
		for i := 0; i < d; i++ {
			bmin = min(bmin, hs[i*d+i]*inv)
		}
		// S_kk = Hs_k/τ_k, entry by entry as assemble writes it.
		asm := func(dst []float64) {
			for i := 0; i < d; i++ {
				for j := 0; j <= i; j++ {
					dst[i*d+j] = hs[i*d+j] * inv
				}
			}
		}
		steps, ltol := lanczosPlan(d, 1e-9)
		lo, _ := linalg.Lanczos(d, steps, ltol, func(y, x []float64) { linalg.SymMatVec(y, hs, x, d, inv) })
		tol := muTol
		if d <= 256 {
			tol = muTolSmall
		}
		lb := certifyLower(d, asm, nil, lo, eps, tol, bmin, work[:d*d])
		r := lb - off[k] - off[k-1]
		mu = min(mu, down(r))
	}
	if !(mu > 0) {
		return 0
	}
	return mu
}
