package verify

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/linalg"
)

// tauCand is one block scaling: per-block weights w_k ≥ γ^{k−1}/τ_k of
// ‖g̃_k‖² in ‖g‖²_{D⁻¹}, and F ≥ 1/(μ√D_K).
type tauCand struct {
	tau []float64
	w   []float64
	F   float64
	mu  float64
}

// buildTaus certifies μ for the candidate block scalings and keeps those
// with a positive μ, best first. Each scaling gets a Lanczos estimate of
// λ_min(S) (cheap: products with the blocks); they are ranked by the error
// factor the estimate would give, and certified in that order — all of
// them up to maxAllTaus unknowns, only the best beyond (one N×N Cholesky
// factorisation each, the dominant cost of New for wide models).
func (c *Certifier) buildTaus(h *hessian) {
	if c.numK == 0 {
		c.bounds.Mu, c.bounds.MuBest = math.Inf(1), math.Inf(1)
		return
	}
	g := c.m.Gamma
	var cands []tauTry
	taus := tauCandidates(c.numK)
	// Beyond maxDenseN, μ comes from the block Gershgorin bound, which
	// needs no estimate; every scaling is certified then (cheap per block).
	ests := make([]float64, len(taus))
	if h.N <= maxDenseN {
		ests = c.estimateMins(taus)
	}
	for i, tau := range taus {
		cd := tauTry{tau: tau, w: make([]float64, c.numK), isDefault: i == 0}
		gUp, gDown := 1.0, 1.0 // bounds of γ^{k−1}
		for k := 1; k <= c.numK; k++ {
			if k > 1 {
				gUp, gDown = mulUp(gUp, g), mulDown(gDown, g)
			}
			cd.w[k-1] = divUp(gUp, tau[k-1])
		}
		cd.dK = mulDown(gDown, tau[c.numK-1])
		cd.est = ests[i]
		cd.sc = cd.score(cd.est)
		cands = append(cands, cd)
	}
	// Stable order by estimated score: the best scaling first.
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && cands[j].sc < cands[j-1].sc; j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	var work []float64
	if h.N <= maxDenseN {
		work = make([]float64, h.N*h.N)
	}
	best := math.Inf(1)
	for _, cd := range cands {
		if len(c.taus) > 0 && h.N > maxAllTaus && h.N <= maxDenseN {
			break
		}
		mu := h.certifiedMu(cd.tau, cd.est, work)
		if cd.isDefault {
			c.bounds.Mu = mu
		}
		if !(mu > 0) {
			continue
		}
		tc := tauCand{tau: cd.tau, w: cd.w, mu: mu, F: divUp(1, mulDown(mu, sqrtDown(cd.dK)))}
		score := cd.score(mu)
		if score < best {
			best = score
			c.bounds.MuBest = mu
			c.taus = append([]tauCand{tc}, c.taus...)
		} else {
			c.taus = append(c.taus, tc)
		}
	}
}

// estimateMins returns Lanczos estimates of λ_min(S) for each scaling τ
// (linalg.LanczosBatch, all scalings in one batch). The products use the
// float32 copies the residual needs (Hs_k rounded, W_k and W_kᵀ) on the
// SIMD kernels: an estimate only has to be close (within about muTol), and
// the rounding of Hs_k to float32 moves the eigenvalues by at most
// u₃₂‖Hs_k‖_F/τ_k — the certificate of μ is the float64 Cholesky
// factorisation that follows (certifyLower).
func (c *Certifier) estimateMins(taus [][]float64) []float64 {
	m, p, K := c.m, len(taus), c.numK
	offs := make([]int, K+2)
	for k := 1; k <= K; k++ {
		offs[k+1] = offs[k] + m.Sizes[k]
	}
	N := offs[K+1]
	maxd := 0
	for _, d := range m.Sizes[1 : K+1] {
		maxd = max(maxd, d)
	}
	// The vectors transposed (p×N, one row per scaling) so that the
	// products run along the long dimension: Yᵀ = Xᵀ·Hs_k (Hs_k is
	// symmetric), Xᵀ_{k−1}·W_{k−1}ᵀ and Xᵀ_{k+1}·W_k.
	xt := make([]float32, p*N)
	yt := make([]float32, p*maxd)
	xk := make([]float32, p*maxd)
	mul := func(Y, X []float64) {
		for i := 0; i < N; i++ {
			for t := 0; t < p; t++ {
				xt[t*N+i] = float32(X[i*p+t])
			}
		}
		// rows returns Xᵀ restricted to block j (p × d_j, packed).
		rows := func(j int) []float32 {
			d, o := m.Sizes[j], offs[j]
			for t := 0; t < p; t++ {
				copy(xk[t*d:t*d+d], xt[t*N+o:t*N+o+d])
			}
			return xk[:p*d]
		}
		for k := 1; k <= K; k++ {
			d, o := m.Sizes[k], offs[k]
			y := yt[:p*d]
			asm.Gemm(y, rows(k), c.blocks[k-1].h, p, d, d, false)
			for t, tau := range taus {
				inv := 1 / tau[k-1]
				for i := 0; i < d; i++ {
					Y[(o+i)*p+t] = float64(y[t*d+i]) * inv
				}
			}
			if k > 1 { // S_{k,k−1}X_{k−1} = −coef·W_{k−1}X_{k−1}
				dl := m.Sizes[k-1]
				asm.Gemm(y, rows(k-1), c.blocks[k-1].wlT, p, dl, d, false)
				c.subCoef(Y[o*p:(o+d)*p], y, taus, k-1, d, p)
			}
			if k < K { // S_{k,k+1}X_{k+1} = −coef·W_kᵀX_{k+1}
				du := m.Sizes[k+1]
				asm.Gemm(y, rows(k+1), m.W[k], p, du, d, false)
				c.subCoef(Y[o*p:(o+d)*p], y, taus, k, d, p)
			}
		}
	}
	steps, tol := lanczosPlan(N, 1e-5)
	lo, _ := linalg.LanczosBatch(N, p, steps, tol, mul)
	return lo
}

// subCoef sets y[i*p+t] −= coef_t·v[t*d+i], coef_t = √γ(1+β_k)/√(τ_kτ_{k+1})
// for scaling t.
func (c *Certifier) subCoef(y []float64, v []float32, taus [][]float64, k, d, p int) {
	g := c.m.Gamma
	for t, tau := range taus {
		coef := math.Sqrt(g) * (1 + c.m.Beta[k]) / math.Sqrt(tau[k-1]*tau[k])
		for i := 0; i < d; i++ {
			y[i*p+t] -= coef * float64(v[t*d+i])
		}
	}
}

// maxAllTaus is the largest number of variable units for which every
// candidate block scaling is certified; beyond, only the best by estimate.
const maxAllTaus = 1024

// tauTry is a candidate scaling while New ranks and certifies them.
type tauTry struct {
	tau       []float64
	w         []float64 // γ^{k−1}/τ_k, rounded up
	dK        float64   // D_K = γ^{K−1}τ_K, rounded down
	est, sc   float64   // Lanczos estimate of λ_min(S) and its score
	isDefault bool      // τ = 1
}

// score ranks a scaling by the bound F·‖(1,…,1)‖_w it gives, for μ = mu,
// for a residual spread evenly over the blocks.
func (cd *tauTry) score(mu float64) float64 {
	var sw float64
	for _, w := range cd.w {
		sw += w
	}
	return math.Sqrt(sw) / (mu * math.Sqrt(cd.dK))
}
