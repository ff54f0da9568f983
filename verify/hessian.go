package verify

import (
	"math"

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

// scaledHessian assembles S (N×N, row-major, float64) for the first K
// blocks with weights τ and returns it with a bound eps ≥ ‖S − Ŝ‖₂ on its
// rounding error, and the smallest diagonal entry.
//
// Entry errors: a Gram entry Σ_p w_ip w_jp of float32 weights is computed
// in float64 with error ≤ γ_m Σ_p|w_ip w_jp| ≤ γ_m‖w_i‖‖w_j‖ (m the inner
// dimension); the few scalings and additions that follow stay within
// γ_{m+6} of the sum of the terms' magnitudes. Dominated entrywise by
// γ_{m+6}((1+γβ_k)/τ_k·I + β_{k−1}/τ_k·nnᵀ + γ/τ_k·ccᵀ) (n_i, c_i row and
// column norms), the diagonal block's error has 2-norm at most
// γ_{m+6}(1 + γβ_k + β_{k−1}‖W_{k−1}‖_F² + γ‖W_k‖_F²)/τ_k. An off-diagonal
// entry is one float32 weight times a computed coefficient: relative error
// γ_6, 2-norm ≤ γ_6·coef·‖W_k‖_F. For the block-tridiagonal error,
// ‖ΔS‖₂ ≤ max_k‖ΔS_kk‖ + 2·max_k‖ΔS_{k+1,k}‖.
//
// With dense false, S is not assembled (nil): only N, eps, minDiag and offs
// are computed, for the block Gershgorin bound, which must not allocate
// N×N entries for a large network.
func scaledHessian(m *lrrn.Model, K int, tau []float64, fro2 []float64, dense bool) (S []float64, N int, eps, minDiag float64, offs []int) {
	offs = make([]int, K+2)
	for k := 1; k <= K; k++ {
		offs[k+1] = offs[k] + m.Sizes[k]
	}
	N = offs[K+1]
	if dense {
		S = make([]float64, N*N)
	}
	g := m.Gamma
	var epsDiag, epsOff float64
	minDiag = math.Inf(1)
	for k := 1; k <= K; k++ {
		d := m.Sizes[k]
		o := offs[k]
		hs := hsBlock(m, k, k < K)
		inv := 1 / tau[k-1]
		for i := 0; i < d; i++ {
			if dense {
				for j := 0; j < d; j++ {
					S[(o+i)*N+o+j] = hs[i*d+j] * inv
				}
			}
			minDiag = min(minDiag, hs[i*d+i]*inv)
		}
		mk := m.Sizes[k-1]
		mag := 1 + m.Beta[k-1]*fro2[k-1]
		if k < K {
			mk = max(mk, m.Sizes[k+1])
			mag += g * (fro2[k] + m.Beta[k])
		}
		e := mulUp(mulUp(gamma(mk+8, u64), mag), inv*(1+1e-15))
		epsDiag = max(epsDiag, e)
		if k < K {
			// Block (k+1, k) and its transpose.
			coef := math.Sqrt(g) * (1 + m.Beta[k]) / math.Sqrt(tau[k-1]*tau[k])
			W := m.W[k]
			du := m.Sizes[k+1]
			ou := offs[k+1]
			for i := 0; i < du && dense; i++ {
				for j := 0; j < d; j++ {
					v := -coef * float64(W[i*d+j])
					S[(ou+i)*N+o+j] = v
					S[(o+j)*N+ou+i] = v
				}
			}
			eo := mulUp(mulUp(gamma(8, u64), coef*(1+1e-14)), sqrtUp(fro2[k]))
			epsOff = max(epsOff, eo)
		}
	}
	eps = mulUp(addUp(epsDiag, 2*epsOff), safety)
	return S, N, eps, minDiag, offs
}

// hsBlock returns Hs_k = H_k/γ^{k−1} (d_k×d_k, float64): the one float64
// builder of the energy's blocks, lrrn.Model.HessianBlock.
func hsBlock(m *lrrn.Model, k int, top bool) []float64 { return m.HessianBlock(k, top) }

// certifiedMu returns a certified lower bound of λ_min(S) for weights τ,
// or 0 when no positive bound can be proved. Up to maxDense unknowns it
// factorises S itself (bisection over the shift); beyond, it uses the
// block Gershgorin bound λ_min(S) ≥ min_k(λ_min(S_kk) − ‖S_{k,k−1}‖ −
// ‖S_{k,k+1}‖) with each diagonal block factorised and the off-diagonal
// norms bounded by SingularValueBounds.
func certifiedMu(m *lrrn.Model, K int, tau []float64, fro2 []float64) float64 {
	if K == 0 {
		return math.Inf(1)
	}
	N := 0
	for k := 1; k <= K; k++ {
		N += m.Sizes[k]
	}
	if N > maxDense {
		return muGershgorin(m, K, tau, fro2)
	}
	S, N, eps, minDiag, _ := scaledHessian(m, K, tau, fro2, true)
	mu, ok := eigLowerBisect(S, N, 0, minDiag, eps, 40, make([]float64, N*N))
	if !ok || !(mu > 0) {
		return 0
	}
	return mu
}

// muGershgorin is certifiedMu's bound for networks too large to factorise
// S: λ_min(S) ≥ min_k(λ_min(S_kk) − ‖S_{k,k−1}‖ − ‖S_{k,k+1}‖), with each
// diagonal block factorised and the off-diagonal norms bounded by
// SingularValueBounds; 0 when no positive bound is proved.
func muGershgorin(m *lrrn.Model, K int, tau []float64, fro2 []float64) float64 {
	_, _, eps, _, _ := scaledHessian(m, K, tau, fro2, false)
	off := make([]float64, K+1) // off[k] ≥ ‖S_{k+1,k}‖₂
	for k := 1; k < K; k++ {
		sb, err := singularBounds(m.W[k], m.Sizes[k+1], m.Sizes[k], math.Inf(1))
		if err != nil {
			return 0
		}
		coef := math.Sqrt(m.Gamma) * (1 + m.Beta[k]) / math.Sqrt(tau[k-1]*tau[k])
		off[k] = mulUp(mulUp(sb.MaxUpper, coef), 1+1e-14)
	}
	mu := math.Inf(1)
	for k := 1; k <= K; k++ {
		d := m.Sizes[k]
		if d > maxDense {
			return 0
		}
		// S_kk = Hs_k/τ_k, assembled exactly as scaledHessian would.
		blk := hsBlock(m, k, k < K)
		inv := 1 / tau[k-1]
		bmin := math.Inf(1)
		for i := range blk {
			blk[i] *= inv
		}
		for i := 0; i < d; i++ {
			bmin = min(bmin, blk[i*d+i])
		}
		lb, ok := eigLowerBisect(blk, d, 0, bmin, eps, 50, make([]float64, d*d))
		if !ok {
			return 0
		}
		r := lb - off[k] - off[k-1]
		mu = min(mu, down(r))
	}
	if !(mu > 0) {
		return 0
	}
	return mu
}
