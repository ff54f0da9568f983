package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
)

// Options configure a Certifier. The zero value is usable.
type Options struct {
	// Passes is the number of BCD passes per input. 0 (the default) runs
	// passes as needed: StartPasses first, then more only for the inputs
	// whose certificate is still limited by the inference error (as with
	// Adaptive). A positive Passes without Adaptive runs exactly that many.
	Passes int
	// Workers is the number of goroutines a batch is spread over; 0 uses
	// runtime.GOMAXPROCS(0). At most MaxWorkers.
	Workers int
	// Adaptive keeps running passes on inputs whose certificate is still
	// limited by the inference error, doubling their total each round,
	// until it costs at most AdaptiveTol of the margin, the residual
	// reaches the rounding floor, or MaxPasses passes ran. The inputs that
	// continue are gathered across tiles into full tiles. Passes = 0 sets
	// it (starting from StartPasses).
	Adaptive bool
	// MaxPasses caps the passes per input in adaptive mode; 0 means 2000.
	MaxPasses int
	// AdaptiveTol is the fraction of |margin| below which the inference
	// error no longer counts as limiting; 0 means DefaultAdaptiveTol.
	AdaptiveTol float64
}

// MaxWorkers bounds Options.Workers: each worker holds a scratch of a few
// tiles, and more goroutines than this gain nothing on any machine.
const MaxWorkers = 1024

// StartPasses is the number of passes every input gets first when passes
// run as needed (Options.Passes = 0).
const StartPasses = 5

// DefaultAdaptiveTol is the default Options.AdaptiveTol: an input stops
// once the inference error costs at most this fraction of its margin, so
// that its radius is within about this fraction of the converged one.
const DefaultAdaptiveTol = 1e-3

// Certificate is the result for one input. Radii are ℓ2 distances in the
// units of the input (pixels scaled to [0,1]).
type Certificate struct {
	// Label is the class the certificate is about: the given label, or the
	// prediction when no label was given (then LabelGiven is false).
	Label      int
	LabelGiven bool
	// Pred is the iterate's prediction, argmax of its output.
	Pred int
	// Margin is the iterate's margin ž̃_L[Label] − max_{j≠Label} z̃_L[j],
	// evaluated in float64 (negative when Pred ≠ Label).
	Margin float64
	// MarginLower is a certified lower bound on the exact model's margin at
	// this input: Margin minus the inference error and rounding bounds.
	MarginLower float64
	// Radius is the certified radius δ = MarginLower/(√2ρ) of the exact
	// model, 0 when not certified: every x' with ‖x' − x‖₂ < Radius is
	// classified as Label.
	Radius float64
	// PairRadius is the certified pairwise radius δ_pair (linear output
	// with β_{L−1} = 0 only; NaN otherwise), 0 when not certified. It is
	// also sound, and at least Radius.
	PairRadius float64
	// Certified reports MarginLower > 0: the exact model's prediction at x
	// is Label.
	Certified bool
	// StateError is a certified bound on ‖z̃ − ž‖ for the layer that
	// determines the output (z_{L−1} in the reduced form, z_L otherwise);
	// +Inf when no bound could be proved.
	StateError float64
	// Residual is ‖g‖_{D⁻¹}, the float64 norm of the min-norm subgradient
	// at the iterate in the block scaling used for StateError.
	Residual float64
	// Passes is the number of BCD passes the iterate received.
	Passes int
}

// ErrInput is matched (errors.Is) by every error about the caller's
// inputs: sizes, labels, non-finite values.
var ErrInput = errors.New("invalid input")

// LayerBound describes one weight layer's contribution to ρ.
type LayerBound struct {
	Rows, Cols int     // W_k is Rows×Cols (d_{k+1}×d_k)
	Beta       float64 // β_k
	SingularBounds
	// Ell is a certified upper bound of ℓ(β_k, W_k).
	Ell float64
	// EllEstimate is the paper's estimate (its formula at the Lanczos
	// estimate of σ_max only). NOT SOUND.
	EllEstimate float64
}

// Bounds are the per-model quantities of the certificates.
type Bounds struct {
	Layers []LayerBound
	// Rho is a certified upper bound of the Lipschitz constant of the exact
	// model's output x ↦ ž_L(x): Π_k Ell.
	Rho float64
	// RhoPre is Π_{k<L−1} Ell, a certified Lipschitz bound of x ↦ ž_{L−1}
	// used by the pairwise radius.
	RhoPre float64
	// RhoEstimate = Π_k EllEstimate, the paper's estimate. NOT SOUND: the
	// Lanczos estimate approaches σ_max from below, and the formula at
	// σ_max misses the peak (1+β)/(2√β) when σ_min < 1/√β < σ_max.
	RhoEstimate float64
	// Reduced reports a linear output with β_{L−1} = 0: the output is
	// eliminated from the free problem and PairRadius is available.
	Reduced bool
	// Blocks is K, the number of variable layers of the free problem.
	Blocks int
	// Mu is the certified smallest eigenvalue of the block-scaled Hessian
	// with D_k = γ^{k−1} (τ = 1); MuBest the one of the scaling that gives
	// the smallest error factor. 0 means none could be proved (then every
	// certificate abstains).
	Mu, MuBest float64
}

// block holds the per-model data of one variable block k of the free
// problem, for the residual g̃_k = Hs_k z_k − p·W_{k−1}z_{k−1} − e_k −
// q·W_kᵀz_{k+1} (W_0 z_0 is the input part v = W_0 x).
type block struct {
	k, d   int
	lo, hi float32
	h      []float32 // Hs_k rounded to float32, d×d
	p      float64   // 1+β_{k−1}
	wlT    []float32 // W_{k−1}ᵀ, d_{k−1}×d (k ≥ 2)
	q      float64   // γ(1+β_k), 0 without the top term
	wu     []float32 // W_k, d_{k+1}×d (top term only)
	e      []float64 // b_{k−1} − [top] γW_kᵀb_k
	// ‖error of the computed g̃_k‖ ≤ (zc + γ(n_k)·hF)‖z_k‖
	//   + (lc + γ(n_{k−1})·lF)‖z_{k−1}‖   (k ≥ 2; for k = 1: lc‖x‖)
	//   + (uc + γ(n_{k+1})·uF)‖z_{k+1}‖ + c0,
	// where n_j counts the nonzero entries of z_j and γ(n) = n·g32 is the
	// float32 rounding bound of an n-term dot product (terms with a zero
	// factor are exact and add no rounding).
	zc, hF, lc, lF, uc, uF, c0 float64
	znFactor                   float64 // ‖z_k‖² ≤ fl32(z_k·z_k)·znFactor + d·tiny32
	kind                       boxKind
}

// boxKind selects the residual loop for a layer's activation set.
type boxKind uint8

const (
	boxGeneral boxKind = iota
	boxLinear          // R^d: no bounds
	boxReLU            // [0, +∞)
)

// tauCand is one block scaling: per-block weights w_k ≥ γ^{k−1}/τ_k of
// ‖g̃_k‖² in ‖g‖²_{D⁻¹}, and F ≥ 1/(μ√D_K).
type tauCand struct {
	tau []float64
	w   []float64
	F   float64
	mu  float64
}

// layerProd multiplies the states of layer j by all the matrices the
// residuals and the output need, concatenated column-wise, in one Gemm.
type layerProd struct {
	b                      []float32 // d_j × width
	width                  int
	hOff, lOff, uOff, oOff int // column offsets of Hs_j, W_jᵀ, W_{j−1}, W_{L−1}ᵀ (−1: absent)
}

// inputChunk is the number of input columns summed in float32 before the
// partial sums of W_0 x are accumulated in float64 (error γ_chunk in
// float32 instead of γ_{d_0}).
const inputChunk = 112

// Certifier certifies inputs of one model. Build it once with New: all
// per-model work (spectral bounds, ρ, μ, the solver) happens there. It is
// safe for concurrent use; per-input work does not allocate in steady
// state.
type Certifier struct {
	m       *lrrn.Model
	solver  *lrrn.Solver
	opts    Options
	bounds  Bounds
	L, K    int
	reduced bool
	d0, d1  int
	dL      int
	blocks  []block
	taus    []tauCand
	prods   []layerProd // index j = 1 … K: the products with z_j

	chunk, nchunk int
	w0c           []float32 // nchunk blocks of chunk×d1 (W_0ᵀ rows, zero-padded)
	levels        int       // buffers of the pairwise reduction of the chunks
	vRel          float64   // per unit i: |Δv_i| ≤ vRel‖w_i‖‖x‖ + (underflow, in cv0)
	cv0           float64   // ‖Δv‖ ≤ vRel‖W_0‖_F‖x‖ + cv0
	g32           float64   // γ_n of float32 ≤ n·g32 (with the safety factor) for n ≤ max d_k
	xnFactor      float64   // ‖x‖² ≤ float32 Dot · xnFactor + xnAbs
	xnAbs         float64

	wout  []float32 // W_{L−1} (reduced)
	woutT []float32 // W_{L−1}ᵀ
	bout  []float64 // b_{L−1} (reduced)
	// output pair error ≤ (outA + γ(n_{L−1})·outF)·‖z_{L−1}‖ + outB
	// (K = 0: outA·‖x‖ + outB)
	outA, outF, outB float64
	wd               []float64 // dL×dL: ‖w_y − w_j‖ upper bounds (reduced, dL ≤ maxPairTable; else nil, see pairNorm)
	wdScale          float64   // 1 + γ_{d_{L−1}+4}: rounding factor of those bounds
	invS2Rho         float64   // ≤ 1/(√2ρ)
	invRhoPre        float64   // ≤ 1/RhoPre
	maxPasses        int
	tol              float64

	free chan *scratch
}

// New builds a Certifier for m. The model must not change while the
// Certifier is in use.
func New(m *lrrn.Model, opts Options) (*Certifier, error) {
	if m == nil {
		return nil, errors.New("verify: nil model")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	L := m.L()
	if m.Sizes[L] < 2 {
		return nil, fmt.Errorf("verify: the output layer has %d unit(s); a classifier needs at least 2", m.Sizes[L])
	}
	if opts.Passes < 0 || opts.Workers < 0 || opts.MaxPasses < 0 || opts.AdaptiveTol < 0 || math.IsNaN(opts.AdaptiveTol) {
		return nil, fmt.Errorf("verify: negative option in %+v", opts)
	}
	if opts.Workers > MaxWorkers {
		return nil, fmt.Errorf("verify: Workers = %d, want 0 … %d", opts.Workers, MaxWorkers)
	}
	if opts.Passes == 0 {
		opts.Passes, opts.Adaptive = StartPasses, true
	}
	if opts.Workers == 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxPasses == 0 {
		opts.MaxPasses = 2000
	}
	opts.MaxPasses = max(opts.MaxPasses, opts.Passes)
	if opts.AdaptiveTol == 0 {
		opts.AdaptiveTol = DefaultAdaptiveTol
	}
	// A block's Hessian (d_k×d_k) is formed and factorised densely; beyond
	// maxDense no μ could be certified and every certificate would abstain.
	// Checked before NewSolverHessians, which allocates d_k² entries per
	// layer.
	for k := 1; k <= L; k++ {
		if d := m.Sizes[k]; d > maxDense && (k < L || !m.ReducedOutput()) {
			return nil, fmt.Errorf("verify: layer %d has %d units; certificates need at most %d per variable layer", k, d, maxDense)
		}
	}
	solver, hs, err := lrrn.NewSolverHessians(m)
	if err != nil {
		return nil, err
	}
	c := &Certifier{m: m, solver: solver, opts: opts, L: L, reduced: m.ReducedOutput(),
		d0: m.Sizes[0], d1: m.Sizes[1], dL: m.Sizes[L], maxPasses: opts.MaxPasses, tol: opts.AdaptiveTol}
	c.K = L
	if c.reduced {
		c.K = L - 1
	}
	fro2 := make([]float64, L)
	maxW := make([]float64, L)
	for k := 0; k < L; k++ {
		var s float64
		for _, w := range m.W[k] {
			s += float64(w) * float64(w)
			maxW[k] = max(maxW[k], math.Abs(float64(w)))
		}
		fro2[k] = mulUp(s, 1+gamma(len(m.W[k]), u64))
	}
	dmax := 1 // the longest float32 product with a state (n ≤ max d_k)
	for _, d := range m.Sizes[1:] {
		dmax = max(dmax, d)
	}
	c.g32 = mulUp(divUp(u32, down(1-float64(dmax)*u32)), safety*(1+1e-12))
	if err := c.lipschitz(); err != nil {
		return nil, err
	}
	h := newHessian(m, c.K, fro2, hs) // the solver's Hs_k, shared by both
	for _, lb := range c.bounds.Layers {
		h.sigma = append(h.sigma, lb.MaxUpper)
	}
	c.buildBlocks(h, fro2, maxW)
	c.buildTaus(h)
	c.buildInput(fro2, maxW)
	c.buildOutput(maxW)
	c.buildProds()
	c.free = make(chan *scratch, opts.Workers+2)
	return c, nil
}

// Model returns the model.
func (c *Certifier) Model() *lrrn.Model { return c.m }

// Options returns the options in effect (defaults filled in).
func (c *Certifier) Options() Options { return c.opts }

// Bounds returns the per-model bounds (ρ, its parts, μ).
func (c *Certifier) Bounds() Bounds {
	b := c.bounds
	b.Layers = append([]LayerBound(nil), b.Layers...)
	return b
}

func (c *Certifier) lipschitz() error {
	m := c.m
	b := Bounds{Reduced: c.reduced, Blocks: c.K, Rho: 1, RhoPre: 1, RhoEstimate: 1}
	for k := 0; k < c.L; k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		need := -1.0 // full σ_min bound for small matrices, for the report
		if min(rows, cols) > 256 {
			need = minNeeded(m.Beta[k])
		}
		sb, err := singularBounds(m.W[k], rows, cols, need)
		if err != nil {
			return fmt.Errorf("verify: W_%d: %w", k, err)
		}
		lb := LayerBound{Rows: rows, Cols: cols, Beta: m.Beta[k], SingularBounds: sb}
		lb.Ell = ellUpper(m.Beta[k], sb.MinLower, sb.MaxUpper)
		lb.EllEstimate = ellEstimate(m.Beta[k], sb.MaxEstimate)
		b.Layers = append(b.Layers, lb)
		b.Rho = mulUp(b.Rho, lb.Ell)
		if k < c.L-1 {
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
			if k < c.L-1 && !math.IsInf(b.RhoPre, 0) && !math.IsNaN(b.RhoPre) {
				b.RhoPre = 0
			}
		}
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

// buildBlocks precomputes the residual data of every variable block, with
// the error coefficients derived as follows (u = 2^-24 for float32 products,
// which the asm kernels compute as n-term float32 dot products in some
// order, fused or not: error ≤ γ_n Σ|a_i b_i| ≤ γ_n‖a‖‖b‖, plus n·2^-126
// per product for underflow and flushed subnormals):
//
//   - Hs_k is formed in float64 with ‖ΔHs‖₂ ≤ γ_{m+8}(1 + γβ_k +
//     β_{k−1}‖W_{k−1}‖_F² + γ‖W_k‖_F²) (see scaledHessian) and rounded to
//     float32 (‖Δ‖₂ ≤ u32‖Ĥ‖_F): together εH.
//   - fl32(Ĥz) errs by ≤ γ_n‖Ĥ‖_F‖z‖ in norm, with n the number of
//     nonzero entries of z (a term with a zero factor is an exact zero, and
//     adding an exact zero is exact, so along any summation tree a term
//     meets at most n−1 inexact additions); fl32(W_{k−1}z_{k−1}) errs by
//     ≤ γ_n‖W_{k−1}‖_F‖z_{k−1}‖ with n = nnz(z_{k−1}), fl32(W_kᵀz_{k+1})
//     likewise. Relu states are sparse, which makes this much tighter.
//   - e_k is formed in float64: ‖Δe‖ ≤ γ_{d_{k+1}+4}(‖b_{k−1}‖ + γ‖W_k‖_F‖b_k‖).
//   - The float64 combination h − p·l − e − q·t (two products, three
//     subtractions, and the rounding of p and q) errs by at most γ_8 times
//     the sum of the terms' magnitudes, each bounded by its matrix norm
//     times the vector norm.
func (c *Certifier) buildBlocks(hes *hessian, fro2, maxW []float64) {
	m := c.m
	g := m.Gamma
	g8 := gamma(8, u64)
	for k := 1; k <= c.K; k++ {
		top := k < c.K
		d := m.Sizes[k]
		bl := block{k: k, d: d, p: 1 + m.Beta[k-1], znFactor: divUp(1, down(1-gamma(d, u32)))}
		bl.lo, bl.hi = m.Acts[k-1].Bounds()
		switch {
		case math.IsInf(float64(bl.lo), -1) && math.IsInf(float64(bl.hi), 1):
			bl.kind = boxLinear
		case bl.lo == 0 && math.IsInf(float64(bl.hi), 1):
			bl.kind = boxReLU
		}
		hs := hes.hs[k-1]
		bl.h = make([]float32, d*d)
		var hf2, h32f2, maxH float64
		for i, v := range hs {
			bl.h[i] = float32(v)
			hf2 += v * v
			h32 := float64(bl.h[i])
			h32f2 += h32 * h32
			maxH = max(maxH, math.Abs(h32))
		}
		hF := sqrtUp(mulUp(hf2, 1+gamma(d*d, u64)))
		h32F := sqrtUp(mulUp(h32f2, 1+gamma(d*d, u64)))
		mk := m.Sizes[k-1]
		mag := 1 + m.Beta[k-1]*fro2[k-1]
		if top {
			mk = max(mk, m.Sizes[k+1])
			mag += g * (fro2[k] + m.Beta[k])
		}
		epsH := addUp(mulUp(gamma(mk+8, u64), mag*(1+1e-15)), mulUp(u32, hF))
		bl.zc = addUp(epsH, mulUp(g8, h32F))
		bl.hF = h32F
		bl.c0 = mulUp(float64(d)*math.Sqrt(float64(d))*(1+maxH), tiny32)
		if k >= 2 {
			dl := m.Sizes[k-1]
			bl.wlT = transpose(m.W[k-1], d, dl)
			bl.lF = mulUp(bl.p*(1+1e-15), sqrtUp(fro2[k-1]))
			bl.lc = mulUp(g8, bl.lF)
			bl.c0 = addUp(bl.c0, mulUp(bl.p*float64(dl)*math.Sqrt(float64(d))*(1+maxW[k-1]), tiny32))
		}
		bl.e = make([]float64, d)
		var bnorm2 float64
		for i := range bl.e {
			bl.e[i] = float64(m.B[k-1][i])
			bnorm2 += bl.e[i] * bl.e[i]
		}
		epsE := 0.0
		if top {
			du := m.Sizes[k+1]
			bl.q = g * (1 + m.Beta[k])
			Wu, bu := m.W[k], m.B[k]
			bl.wu = Wu
			var bu2 float64
			for r := 0; r < du; r++ {
				bu2 += float64(bu[r]) * float64(bu[r])
			}
			for i := 0; i < d; i++ {
				var s float64
				for r := 0; r < du; r++ {
					s += float64(Wu[r*d+i]) * float64(bu[r])
				}
				bl.e[i] -= g * s
			}
			epsE = mulUp(gamma(du+4, u64), addUp(sqrtUp(bnorm2*(1+1e-14)), g*sqrtUp(fro2[k])*sqrtUp(bu2*(1+1e-14))*(1+1e-14)))
			bl.uF = mulUp(bl.q*(1+1e-15), sqrtUp(fro2[k]))
			bl.uc = mulUp(g8, bl.uF)
			bl.c0 = addUp(bl.c0, mulUp(bl.q*float64(du)*math.Sqrt(float64(d))*(1+maxW[k]), tiny32))
		}
		var e2 float64
		for _, v := range bl.e {
			e2 += v * v
		}
		bl.c0 = addUp(bl.c0, addUp(epsE, mulUp(g8, sqrtUp(e2*(1+1e-14)))))
		for _, f := range []*float64{&bl.zc, &bl.hF, &bl.lc, &bl.lF, &bl.uc, &bl.uF, &bl.c0} {
			*f = mulUp(*f, safety)
		}
		c.blocks = append(c.blocks, bl)
	}
}

// buildTaus certifies μ for the candidate block scalings and keeps those
// with a positive μ, best first. Each scaling gets a Lanczos estimate of
// λ_min(S) (cheap: products with the blocks); they are ranked by the error
// factor the estimate would give, and certified in that order — all of
// them up to maxAllTaus unknowns, only the best beyond (one N×N Cholesky
// factorisation each, the dominant cost of New for wide models).
func (c *Certifier) buildTaus(h *hessian) {
	if c.K == 0 {
		c.bounds.Mu, c.bounds.MuBest = math.Inf(1), math.Inf(1)
		return
	}
	g := c.m.Gamma
	var cands []tauTry
	taus := tauCandidates(c.K)
	// Beyond maxDenseN, μ comes from the block Gershgorin bound, which
	// needs no estimate; every scaling is certified then (cheap per block).
	ests := make([]float64, len(taus))
	if h.N <= maxDenseN {
		ests = c.estimateMins(taus)
	}
	for i, tau := range taus {
		cd := tauTry{tau: tau, w: make([]float64, c.K), isDefault: i == 0}
		gUp, gDown := 1.0, 1.0 // bounds of γ^{k−1}
		for k := 1; k <= c.K; k++ {
			if k > 1 {
				gUp, gDown = mulUp(gUp, g), mulDown(gDown, g)
			}
			cd.w[k-1] = divUp(gUp, tau[k-1])
		}
		cd.dK = mulDown(gDown, tau[c.K-1])
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
	m, p, K := c.m, len(taus), c.K
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

// buildInput packs W_0 in column chunks for the input part v = W_0 x and
// derives its error. Each chunk's product is a float32 dot product of at
// most `chunk` terms; the chunks' partial sums are then added pairwise in
// float32 (a binary counter over the chunks), so every term meets at most
// chunk + depth roundings, depth = bits.Len(nchunk) + bits.OnesCount(nchunk)
// (the counter's levels, then the merge of the levels left over). Per unit
// i the error is ≤ γ_{chunk+depth}Σ_p|w_ip x_p| ≤ γ_{chunk+depth}‖w_i‖‖x‖,
// in norm ≤ γ_{chunk+depth}‖W_0‖_F‖x‖ (+ underflow terms), against
// γ_{d_0} for one long float32 dot product.
func (c *Certifier) buildInput(fro2, maxW []float64) {
	m := c.m
	d0, d1 := c.d0, c.d1
	c.chunk = min(inputChunk, d0)
	c.nchunk = (d0 + c.chunk - 1) / c.chunk
	C := c.chunk
	c.w0c = make([]float32, c.nchunk*d1*C)
	for ch := 0; ch < c.nchunk; ch++ {
		blk := c.w0c[ch*d1*C : (ch+1)*d1*C]
		for i := 0; i < d1; i++ {
			for p := 0; p < C; p++ {
				col := ch*C + p
				if col < d0 {
					blk[p*d1+i] = m.W[0][i*d0+col]
				}
			}
		}
	}
	c.levels = bits.Len(uint(c.nchunk)) + 1
	depth := bits.Len(uint(c.nchunk)) + bits.OnesCount(uint(c.nchunk))
	c.vRel = gamma(C+depth, u32)
	c.cv0 = mulUp(2*float64(d0)*math.Sqrt(float64(d1))*(1+maxW[0]), tiny32)
	// ‖x‖² from a float32 dot product of nonnegative terms x_p²: the
	// computed value is ≥ (1−γ_{d0})·(true − d0·tiny32).
	c.xnFactor = divUp(1, down(1-gamma(d0, u32)))
	c.xnAbs = float64(d0) * tiny32
	if c.K >= 1 {
		b := &c.blocks[0]
		g8 := gamma(8, u64)
		b.lc = mulUp(mulUp(b.p*(1+1e-15), mulUp(addUp(c.vRel, g8), sqrtUp(fro2[0]))), safety)
		b.c0 = addUp(b.c0, mulUp(mulUp(b.p, c.cv0), safety))
	}
}

// buildOutput precomputes the output map of the reduced form and the
// error of the output differences.
func (c *Certifier) buildOutput(maxW []float64) {
	m := c.m
	L, dL := c.L, c.dL
	if !c.reduced {
		return
	}
	n := m.Sizes[L-1]
	c.wout = m.W[L-1]
	c.woutT = transpose(c.wout, dL, n)
	c.bout = make([]float64, dL)
	var maxB, maxRow float64
	rowNorm := make([]float64, dL)
	for i := range c.bout {
		c.bout[i] = float64(m.B[L-1][i])
		maxB = max(maxB, math.Abs(c.bout[i]))
		var s float64
		for _, w := range c.wout[i*n : i*n+n] {
			s += float64(w) * float64(w)
		}
		rowNorm[i] = sqrtUp(mulUp(s, 1+gamma(n, u64)))
		maxRow = max(maxRow, rowNorm[i])
	}
	g3 := gamma(3, u64)
	if c.K == 0 {
		// Output = v + b: v's per-unit error is ≤ vRel‖w_i‖‖x‖.
		c.outA = mulUp(mulUp(addUp(c.vRel, 2*g3), 2*maxRow), safety)
		c.outB = mulUp(addUp(mulUp(2*g3, maxB), 2*c.cv0), safety)
	} else {
		// o_i = fl32(w_i·z) (error ≤ γ_{nnz(z)}‖w_i‖‖z‖ + n·tiny32·(1+max|w|)),
		// then + b_i and the difference in float64 (γ_3 of the magnitudes).
		c.outA = mulUp(mulUp(2*g3, 2*maxRow), safety)
		c.outF = mulUp(2*maxRow, safety)
		c.outB = mulUp(addUp(mulUp(2*g3, maxB), 2*float64(n)*(1+maxW[L-1])*tiny32), safety)
	}
	c.wdScale = 1 + gamma(n+4, u64)
	if dL > maxPairTable {
		return // computed per class pair (pairNorm): dL² entries would not fit
	}
	c.wd = make([]float64, dL*dL)
	for y := 0; y < dL; y++ {
		for j := 0; j < dL; j++ {
			if j != y {
				c.wd[y*dL+j] = c.pairNormDirect(y, j)
			}
		}
	}
}

// maxPairTable is the largest number of classes whose ‖w_y − w_j‖ bounds
// are tabulated (8 MB); beyond, they are computed per class pair.
const maxPairTable = 1024

// pairNorm returns an upper bound of ‖w_y − w_j‖ (rows of W_{L−1},
// reduced form).
func (c *Certifier) pairNorm(y, j int) float64 {
	if c.wd != nil {
		return c.wd[y*c.dL+j]
	}
	return c.pairNormDirect(y, j)
}

func (c *Certifier) pairNormDirect(y, j int) float64 {
	n := c.m.Sizes[c.L-1]
	var s float64
	a, b := c.wout[y*n:y*n+n], c.wout[j*n:j*n+n]
	for p := range a {
		d := float64(a[p]) - float64(b[p])
		s += d * d
	}
	return sqrtUp(mulUp(s, c.wdScale))
}

// buildProds concatenates, for each layer j = 1 … K, the matrices whose
// products with z_j the evaluation needs: Hs_j (block j's residual), W_jᵀ
// (block j+1's W_j z_j), W_{j−1} (block j−1's W_{j−1}ᵀ z_j) and, in the
// reduced form, W_{L−1}ᵀ (the output) for j = L−1.
func (c *Certifier) buildProds() {
	m := c.m
	c.prods = make([]layerProd, c.K+1)
	for j := 1; j <= c.K; j++ {
		d := m.Sizes[j]
		var parts [][]float32
		var widths []int
		lp := layerProd{hOff: -1, lOff: -1, uOff: -1, oOff: -1}
		add := func(mat []float32, w int) int {
			off := lp.width
			parts = append(parts, mat)
			widths = append(widths, w)
			lp.width += w
			return off
		}
		lp.hOff = add(c.blocks[j-1].h, d)
		if j+1 <= c.K {
			lp.lOff = add(c.blocks[j].wlT, m.Sizes[j+1])
		}
		if j >= 2 {
			lp.uOff = add(c.blocks[j-2].wu, m.Sizes[j-1])
		}
		if c.reduced && j == c.K {
			lp.oOff = add(c.woutT, c.dL)
		}
		lp.b = make([]float32, d*lp.width)
		off := 0
		for pi, mat := range parts {
			w := widths[pi]
			for r := 0; r < d; r++ {
				copy(lp.b[r*lp.width+off:r*lp.width+off+w], mat[r*w:r*w+w])
			}
			off += w
		}
		c.prods[j] = lp
	}
}

// transpose returns the cols×rows transpose of the rows×cols matrix a.
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

// scratch is one goroutine's working memory.
type scratch struct {
	ws   *lrrn.Workspace
	st   *lrrn.States
	xp   []float32   // TileSize×d0: a partial tile's inputs, zero-padded
	xc   []float32   // TileSize×chunk: one chunk of the inputs
	tmp  []float32   // TileSize×d1: one chunk's product
	lev  [][]float32 // TileSize×d1 each: the pairwise reduction's levels
	used []bool
	v    []float32   // TileSize×d1: the input parts W_0 x
	xn   []float64   // TileSize: bounds of ‖x‖
	prod [][]float32 // per layer j: TileSize×width_j (see layerProd)
	aux  []aux
	wide []float64  // outputs of models with many classes
	dbg  *debugInfo // tests: per-block residual norms of the last input

	// Passes as needed: queue[s] holds inputs waiting for their next
	// round after passSchedule[s] passes, out the certificates of the call
	// being served (queue entries index it).
	queue []*passQueue
	out   []Certificate
	one   [1]Certificate // Certify's
	// final, when set (tests), is called with each input's final iterate.
	final func(i int, st *lrrn.States, j int)
}

// passQueue is a tile of inputs that all had the same number of passes
// and need more.
type passQueue struct {
	n    int
	v    []float32 // TileSize×d1
	xn   []float64
	lab  []int
	idx  []int     // where the certificate goes (scratch.out)
	prev []float64 // MarginLower before this round
	st   *lrrn.States
	cert []Certificate
	aux  []aux
}

// debugInfo receives, when set, the per-block residual norms ‖ĝ_k‖ and
// their rounding error bounds of the last input evaluated.
type debugInfo struct {
	gn, err []float64
}

// aux carries what the adaptive mode needs per input.
type aux struct {
	eErr float64 // the part of StateError from rounding (more passes do not reduce it)
	loss float64 // margin lost to StateError at the binding class pair
}

func (c *Certifier) newScratch() *scratch {
	T := lrrn.TileSize
	sc := &scratch{ws: c.solver.NewWorkspace(), st: c.solver.NewStates(T)}
	sc.xp = make([]float32, T*c.d0)
	sc.xc = make([]float32, T*c.chunk)
	sc.tmp = make([]float32, T*c.d1)
	sc.lev = make([][]float32, c.levels)
	for i := range sc.lev {
		sc.lev[i] = make([]float32, T*c.d1)
	}
	sc.used = make([]bool, c.levels)
	sc.v = make([]float32, T*c.d1)
	sc.xn = make([]float64, T)
	sc.prod = make([][]float32, c.K+1)
	for j := 1; j <= c.K; j++ {
		sc.prod[j] = make([]float32, T*c.prods[j].width)
	}
	sc.aux = make([]aux, T)
	return sc
}

// queueAt returns the queue of stage s, allocating it on first use.
func (c *Certifier) queueAt(sc *scratch, s int) *passQueue {
	for len(sc.queue) <= s {
		sc.queue = append(sc.queue, nil)
	}
	if q := sc.queue[s]; q != nil {
		return q
	}
	T := lrrn.TileSize
	q := &passQueue{v: make([]float32, T*c.d1), xn: make([]float64, T), lab: make([]int, T), idx: make([]int, T), prev: make([]float64, T),
		st: c.solver.NewStates(T), cert: make([]Certificate, T), aux: make([]aux, T)}
	sc.queue[s] = q
	return q
}

func (c *Certifier) getScratch() *scratch {
	select {
	case sc := <-c.free:
		return sc
	default:
		return c.newScratch()
	}
}

func (c *Certifier) putScratch(sc *scratch) {
	select {
	case c.free <- sc:
	default:
	}
}

// Certify certifies one input x (d_0 values). label is the true class, or
// −1 to certify the predicted class.
func (c *Certifier) Certify(x []float32, label int) (Certificate, error) {
	if len(x) != c.d0 {
		return Certificate{}, fmt.Errorf("verify: input has %d values, the model takes %d: %w", len(x), c.d0, ErrInput)
	}
	if label < -1 || label >= c.dL {
		return Certificate{}, fmt.Errorf("verify: label %d outside 0 … %d: %w", label, c.dL-1, ErrInput)
	}
	sc := c.getScratch()
	defer c.putScratch(sc)
	lab := [1]int{label}
	sc.out = sc.one[:]
	bad := c.tile(sc, x, lab[:], 1, 0)
	c.flush(sc)
	sc.out = nil
	if bad >= 0 {
		return sc.one[0], fmt.Errorf("verify: input has a value that is not finite: %w", ErrInput)
	}
	return sc.one[0], nil
}

// CertifyBatch certifies len(out) inputs stored one after another in x
// (len(out)·d_0 values). labels is nil (certify the predictions) or holds
// one class per input (−1 for none). The batch is split in tiles of
// lrrn.TileSize inputs spread over the configured workers; ctx is checked
// between tiles, and on cancellation CertifyBatch returns ctx.Err() with
// out partly filled.
func (c *Certifier) CertifyBatch(ctx context.Context, x []float32, labels []int, out []Certificate) error {
	n := len(out)
	if len(x) != n*c.d0 {
		return fmt.Errorf("verify: %d input values for %d inputs of %d: %w", len(x), n, c.d0, ErrInput)
	}
	if labels != nil {
		if len(labels) != n {
			return fmt.Errorf("verify: %d labels for %d inputs: %w", len(labels), n, ErrInput)
		}
		for i, l := range labels {
			if l < -1 || l >= c.dL {
				return fmt.Errorf("verify: label %d of input %d outside 0 … %d: %w", l, i, c.dL-1, ErrInput)
			}
		}
	}
	T := lrrn.TileSize
	ntiles := (n + T - 1) / T
	workers := min(c.opts.Workers, ntiles)
	if workers <= 1 {
		// Inline, without goroutines or closures: no allocation.
		j := batchJob{c: c, x: x, labels: labels, out: out, n: n}
		j.firstBad.Store(math.MaxInt64)
		sc := c.getScratch()
		defer c.putScratch(sc)
		sc.out = out
		defer func() { sc.out = nil }()
		for t := 0; t < ntiles; t++ {
			if err := ctx.Err(); err != nil {
				c.drop(sc)
				return err
			}
			j.runTile(sc, t)
		}
		c.flush(sc)
		return j.err()
	}
	j := &batchJob{c: c, x: x, labels: labels, out: out, n: n}
	j.firstBad.Store(math.MaxInt64)
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			sc := c.getScratch()
			defer c.putScratch(sc)
			sc.out = out
			defer func() { sc.out = nil }()
			for ctx.Err() == nil {
				t := int(j.next.Add(1) - 1)
				if t >= ntiles {
					c.flush(sc)
					return
				}
				j.runTile(sc, t)
			}
			c.drop(sc)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return j.err()
}

// batchJob is one CertifyBatch call shared by its workers.
type batchJob struct {
	c        *Certifier
	x        []float32
	labels   []int
	out      []Certificate
	n        int
	next     atomic.Int64 // next tile to take
	firstBad atomic.Int64 // first input with a non-finite value
}

func (j *batchJob) runTile(sc *scratch, t int) {
	c := j.c
	T := lrrn.TileSize
	i0 := t * T
	cnt := min(T, j.n-i0)
	var lab []int
	if j.labels != nil {
		lab = j.labels[i0 : i0+cnt]
	}
	if bad := c.tile(sc, j.x[i0*c.d0:(i0+cnt)*c.d0], lab, cnt, i0); bad >= 0 {
		for {
			cur := j.firstBad.Load()
			if int64(i0+bad) >= cur || j.firstBad.CompareAndSwap(cur, int64(i0+bad)) {
				break
			}
		}
	}
}

func (j *batchJob) err() error {
	if b := j.firstBad.Load(); b != math.MaxInt64 {
		return fmt.Errorf("verify: input %d has a value that is not finite: %w", b, ErrInput)
	}
	return nil
}

// tile certifies n ≤ TileSize inputs, whose certificates go to
// sc.out[i0 … i0+n−1], and returns the index of the first input with a
// non-finite value, or −1. With passes as needed, the inputs that need
// more passes wait in sc.queue (flush finishes them).
//
// Every input is computed in a full tile (a partial one is padded with
// zero inputs) by the same operations whatever its position: the kernels
// treat the tile's columns alike, so an input's certificate does not
// depend on the other inputs of its tile, on the batch size, on the
// worker count or on whether it continues in another tile.
func (c *Certifier) tile(sc *scratch, x []float32, labels []int, n, i0 int) int {
	T := lrrn.TileSize
	if n < T {
		copy(sc.xp, x[:n*c.d0])
		clear(sc.xp[n*c.d0:])
		x = sc.xp
	}
	bad := c.inputPart(sc, x, T, sc.v, sc.xn)
	passes := c.opts.Passes
	if c.K > 0 {
		if err := c.solver.FreeWithInput(sc.ws, sc.v[:T*c.d1], T, passes, sc.st); err != nil {
			panic(err) // sizes were checked: a programming error
		}
	} else {
		passes = 0
	}
	out := sc.out[i0 : i0+n]
	c.evaluate(sc, sc.st, sc.v, sc.xn, labels, n, out, passes, sc.aux)
	adaptive := c.opts.Adaptive && c.K > 0 && len(c.taus) > 0
	for j := 0; j < n; j++ {
		if adaptive && passes < c.maxPasses && c.needsPasses(&out[j], &sc.aux[j]) {
			lab := -1
			if labels != nil {
				lab = labels[j]
			}
			c.enqueue(sc, 0, sc.v[j*c.d1:(j+1)*c.d1], sc.xn[j], lab, i0+j, out[j].MarginLower, sc.st, j)
			continue
		}
		if sc.final != nil {
			sc.final(i0+j, sc.st, j)
		}
	}
	if bad >= n {
		bad = -1
	}
	return bad
}

// needsPasses reports whether an input's certificate is still limited by
// the inference error: the part of the margin it loses that more passes
// can remove — the loss scaled by the share of StateError above the
// rounding floor eErr, which passes do not reduce — exceeds AdaptiveTol of
// the margin.
func (c *Certifier) needsPasses(cert *Certificate, a *aux) bool {
	E := cert.StateError
	if math.IsInf(E, 0) || cert.Pred < 0 || !(E > 0) {
		return false
	}
	return a.loss*(1-a.eErr/E) > c.tol*math.Abs(cert.Margin)
}

// stagePasses returns the total passes of an input after stage s of the
// schedule: Passes·2^s, capped at MaxPasses.
func (c *Certifier) stagePasses(s int) int {
	p := c.opts.Passes
	for ; s > 0 && p < c.maxPasses; s-- {
		p *= 2
	}
	return min(p, c.maxPasses)
}

// enqueue adds input j of st (its input part v, ‖x‖ bound, label, the
// index of its certificate and its current MarginLower) to the queue of
// stage s, running the queue when it is full.
func (c *Certifier) enqueue(sc *scratch, s int, v []float32, xn float64, lab, idx int, lower float64, st *lrrn.States, j int) {
	q := c.queueAt(sc, s)
	i := q.n
	copy(q.v[i*c.d1:(i+1)*c.d1], v)
	q.xn[i], q.lab[i], q.idx[i], q.prev[i] = xn, lab, idx, lower
	for k := 1; k <= c.L; k++ {
		copy(q.st.Layer(k, i), st.Layer(k, j))
	}
	q.n++
	if q.n == lrrn.TileSize {
		c.runQueue(sc, s)
	}
}

// runQueue runs the next round of passes on the inputs of stage s (a full
// tile; a partial one is padded with zero inputs and zero states),
// certifies them and passes on those that still need more.
func (c *Certifier) runQueue(sc *scratch, s int) {
	q := sc.queue[s]
	n, T := q.n, lrrn.TileSize
	if n == 0 {
		return
	}
	clear(q.v[n*c.d1:])
	for k := 1; k <= c.L; k++ {
		clear(q.st.Z[k][n*c.m.Sizes[k]:])
	}
	from, to := c.stagePasses(s), c.stagePasses(s+1)
	if err := c.solver.ContinueFreeWithInput(sc.ws, q.v, T, to-from, q.st); err != nil {
		panic(err)
	}
	c.evaluate(sc, q.st, q.v, q.xn, q.lab[:n], n, q.cert, to, q.aux)
	q.n = 0 // the queue can refill while its inputs move on
	for j := 0; j < n; j++ {
		ct := &q.cert[j]
		sc.out[q.idx[j]] = *ct
		// Continue while the certificate is limited by the inference
		// error and the last round still gained more than AdaptiveTol of
		// the margin (it stops gaining at the float32 floor of the
		// iterate's residual).
		gained := ct.MarginLower-q.prev[j] > c.tol*math.Abs(ct.Margin)
		if to < c.maxPasses && gained && c.needsPasses(ct, &q.aux[j]) {
			c.enqueue(sc, s+1, q.v[j*c.d1:(j+1)*c.d1], q.xn[j], q.lab[j], q.idx[j], ct.MarginLower, q.st, j)
			continue
		}
		if sc.final != nil {
			sc.final(q.idx[j], q.st, j)
		}
	}
}

// flush finishes every input still waiting for passes, stage by stage.
func (c *Certifier) flush(sc *scratch) {
	for s := 0; s < len(sc.queue); s++ {
		if sc.queue[s] != nil && sc.queue[s].n > 0 {
			c.runQueue(sc, s)
		}
	}
}

// drop forgets the waiting inputs (a cancelled batch).
func (c *Certifier) drop(sc *scratch) {
	for _, q := range sc.queue {
		if q != nil {
			q.n = 0
		}
	}
}

// inputPart computes v = W_0 x for the n inputs (float32 chunk products
// added pairwise, see buildInput) and a bound on each ‖x‖; it returns the
// first input with a non-finite value (its ‖x‖ bound is NaN), or −1.
func (c *Certifier) inputPart(sc *scratch, x []float32, n int, v []float32, xn []float64) int {
	d0, d1, C := c.d0, c.d1, c.chunk
	bad := -1
	for j := 0; j < n; j++ {
		xj := x[j*d0 : j*d0+d0]
		s := float64(asm.Dot(xj, xj))
		if math.IsInf(s, 0) || math.IsNaN(s) {
			// float32 overflow or a non-finite value: redo in float64.
			s = 0
			for _, t := range xj {
				s += float64(t) * float64(t)
			}
			s *= 1 + gamma(d0, u64)
			if math.IsInf(s, 0) || math.IsNaN(s) {
				if bad < 0 {
					bad = j
				}
				xn[j] = math.NaN()
				continue
			}
		} else {
			s = s*c.xnFactor + c.xnAbs
		}
		xn[j] = math.Sqrt(s) * relUp
	}
	xc := sc.xc[:n*C]
	size := n * d1
	tmp := sc.tmp
	for ch := 0; ch < c.nchunk; ch++ {
		c0 := ch * C
		w := min(C, d0-c0)
		for j := 0; j < n; j++ {
			dst := xc[j*C : j*C+C]
			copy(dst, x[j*d0+c0:j*d0+c0+w])
			clear(dst[w:])
		}
		t := tmp[:size]
		asm.Gemm(t, xc, c.w0c[ch*d1*C:(ch+1)*d1*C], n, C, d1, false)
		// Binary counter: merge equal levels, so that every partial sum
		// meets at most bits.Len(nchunk) additions here.
		l := 0
		for sc.used[l] {
			asm.Axpy(1, sc.lev[l][:size], t)
			sc.used[l] = false
			l++
		}
		sc.lev[l], tmp = tmp, sc.lev[l]
		sc.used[l] = true
	}
	sc.tmp = tmp
	var acc []float32
	for l := range sc.lev {
		if sc.used[l] {
			if acc != nil {
				asm.Axpy(1, acc, sc.lev[l][:size])
			}
			acc = sc.lev[l][:size]
			sc.used[l] = false
		}
	}
	copy(v[:size], acc)
	return bad
}

// evaluate computes the certificates of the n inputs whose states are in
// st, given their input parts v and norm bounds xn.
func (c *Certifier) evaluate(sc *scratch, st *lrrn.States, v []float32, xn []float64, labels []int, n int, out []Certificate, passes int, ax []aux) {
	m := c.m
	// The products run over all st.N inputs (a full tile in the
	// certifier, padding included), so that every input's are computed
	// alike whatever n.
	for j := 1; j <= c.K; j++ {
		lp := &c.prods[j]
		d := m.Sizes[j]
		asm.Gemm(sc.prod[j][:st.N*lp.width], st.Z[j][:st.N*d], lp.b, st.N, d, lp.width, false)
	}
	dL := c.dL
	var zn, gn, ek [lrrn.MaxLayers + 2]float64
	var nz [lrrn.MaxLayers + 2]float64 // γ bounds of the products with z_k
	var o [maxOutputsStack]float64
	for j := 0; j < n; j++ {
		cert := &out[j]
		*cert = Certificate{Passes: passes, Pred: -1, Label: -1, PairRadius: math.NaN(), StateError: math.Inf(1)}
		if math.IsNaN(xn[j]) {
			continue
		}
		feasible := true
		for bi := range c.blocks {
			b := &c.blocks[bi]
			k, d := b.k, b.d
			z := st.Z[k][j*d : j*d+d]
			pk := &c.prods[k]
			h := sc.prod[k][j*pk.width+pk.hOff : j*pk.width+pk.hOff+d]
			var gs, zs float64
			// chk sums the gradient before the min-norm cancellation: a
			// float32 product that overflowed (±Inf, NaN) makes it
			// non-finite. The rounding bounds do not cover overflow, and
			// the cancellation at a bound would hide it: abstain.
			var chk float64
			var cnt uint32
			lo, hi := b.lo, b.hi
			e := b.e[:d]
			var l []float32
			if k == 1 {
				l = v[j*c.d1 : j*c.d1+d]
			} else {
				pl := &c.prods[k-1]
				l = sc.prod[k-1][j*pl.width+pl.lOff : j*pl.width+pl.lOff+d]
			}
			var u []float32
			q := b.q
			if q != 0 {
				pu := &c.prods[k+1]
				u = sc.prod[k+1][j*pu.width+pu.uOff : j*pu.width+pu.uOff+d]
			} else {
				u = h // any slice of length d; multiplied by q = 0
			}
			p := b.p
			h, l, e, u = h[:len(z)], l[:len(z)], e[:len(z)], u[:len(z)]
			// The min-norm element of ∇E + N_C: at a bound, the part of the
			// gradient pointing out of the box is cancelled. z̃ must lie in
			// the box (the solver clamps); a NaN makes gs NaN and abstains.
			switch b.kind {
			case boxLinear:
				for i, zi := range z {
					g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
					gs += g * g
					bz := math.Float32bits(zi) << 1
					cnt += (bz | -bz) >> 31
				}
			case boxReLU: // lo = 0, hi = +∞: branch-free
				var neg uint32
				if q == 0 { // no top term
					for i, zi := range z {
						bz := math.Float32bits(zi)
						mag := bz << 1
						nonzero := (mag | -mag) >> 31
						neg |= bz >> 31 & nonzero
						g := float64(h[i]) - p*float64(l[i]) - e[i]
						chk += g
						gb := math.Float64bits(g)
						kill := uint64(nonzero^1) & (^gb >> 63)
						gb &^= -kill
						g = math.Float64frombits(gb)
						gs += g * g
						cnt += nonzero
					}
					if neg != 0 {
						feasible = false
					}
					break
				}
				for i, zi := range z {
					bz := math.Float32bits(zi)
					mag := bz << 1
					nonzero := (mag | -mag) >> 31
					neg |= bz >> 31 & nonzero // a negative value: infeasible
					g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
					chk += g
					gb := math.Float64bits(g)
					kill := uint64(nonzero^1) & (^gb >> 63) // at 0 with g ≥ 0
					gb &^= -kill
					g = math.Float64frombits(gb)
					gs += g * g
					cnt += nonzero
				}
				if neg != 0 {
					feasible = false
				}
			default:
				zmin, zmax := lo, hi
				for i, zi := range z {
					zmin, zmax = min(zmin, zi), max(zmax, zi)
					g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
					chk += g
					if zi <= lo {
						g = min(g, 0)
					}
					if zi >= hi {
						g = max(g, 0)
					}
					gs += g * g
					bz := math.Float32bits(zi) << 1
					cnt += (bz | -bz) >> 31
				}
				if !(zmin >= lo && zmax <= hi) {
					feasible = false
				}
			}
			if chk-chk != 0 { // ±Inf or NaN (the linear case: gs is already)
				feasible = false
			}
			// ‖z‖² from a float32 dot product of nonnegative terms.
			zs = float64(asm.Dot(z, z))*b.znFactor + float64(d)*tiny32
			zn[k] = math.Sqrt(zs) * relUp
			gn[k] = math.Sqrt(gs) * relUp
			nz[k] = float64(cnt) * c.g32
		}
		// Rounding error bound of each block's computed residual.
		for bi := range c.blocks {
			b := &c.blocks[bi]
			k := b.k
			err := (b.zc+nz[k]*b.hF)*zn[k] + b.c0
			if k == 1 {
				err += b.lc * xn[j]
			} else {
				err += (b.lc + nz[k-1]*b.lF) * zn[k-1]
			}
			if b.q != 0 {
				err += (b.uc + nz[k+1]*b.uF) * zn[k+1]
			}
			ek[k] = err * relUp
		}
		if sc.dbg != nil {
			sc.dbg.gn = append(sc.dbg.gn[:0], gn[1:c.K+1]...)
			sc.dbg.err = append(sc.dbg.err[:0], ek[1:c.K+1]...)
		}
		// State error: the smallest bound over the block scalings.
		E, eErr, res := math.Inf(1), math.Inf(1), math.Inf(1)
		if feasible && c.K > 0 {
			for ti := range c.taus {
				tc := &c.taus[ti]
				var sAll, sRes, sErr float64
				for bi := range c.blocks {
					k := c.blocks[bi].k
					a := gn[k] + ek[k]
					w := tc.w[bi]
					sAll += w * a * a
					sRes += w * gn[k] * gn[k]
					sErr += w * ek[k] * ek[k]
				}
				if e := tc.F * math.Sqrt(sAll) * relUp; e < E {
					E = e
					eErr = tc.F * math.Sqrt(sErr)
					res = math.Sqrt(sRes)
				}
			}
		} else if feasible {
			E, eErr, res = 0, 0, 0
		}
		if math.IsNaN(E) {
			E = math.Inf(1)
		}
		cert.StateError, cert.Residual = E, res
		// Output in float64.
		var outs []float64
		if dL <= len(o) {
			outs = o[:dL]
		} else {
			outs = sc.outBuf(dL)
		}
		var outErr float64
		switch {
		case c.reduced && c.K >= 1:
			po := &c.prods[c.K]
			row := sc.prod[c.K][j*po.width+po.oOff : j*po.width+po.oOff+dL]
			for i := range outs {
				outs[i] = float64(row[i]) + c.bout[i]
			}
			outErr = (c.outA+nz[c.K]*c.outF)*zn[c.K] + c.outB
		case c.reduced:
			row := v[j*c.d1 : j*c.d1+dL]
			for i := range outs {
				outs[i] = float64(row[i]) + c.bout[i]
			}
			outErr = c.outA*xn[j] + c.outB
		default:
			row := st.Z[c.L][j*dL : j*dL+dL]
			var mx float64
			for i := range outs {
				outs[i] = float64(row[i])
				mx = max(mx, math.Abs(outs[i]))
			}
			outErr = 4 * u64 * mx
		}
		pred := 0
		for i := 1; i < dL; i++ {
			if outs[i] > outs[pred] {
				pred = i
			}
		}
		y := pred
		if labels != nil && labels[j] >= 0 {
			y = labels[j]
			cert.LabelGiven = true
		}
		cert.Pred, cert.Label = pred, y
		margin := math.Inf(1)
		lower := math.Inf(1)
		pair := math.Inf(1)
		loss := 0.0
		for i := 0; i < dL; i++ {
			if i == y {
				continue
			}
			mi := outs[y] - outs[i]
			if math.IsNaN(mi) {
				mi = math.Inf(-1)
			}
			margin = min(margin, mi)
			var inf, wdi float64
			if c.reduced {
				wdi = c.pairNorm(y, i)
				inf = wdi * E
				if c.K == 0 {
					inf = 0
				}
			} else {
				inf = math.Sqrt2 * E
			}
			t := (outErr + inf) * relUp
			lo := mi - t - 2*u64*(math.Abs(mi)+t)
			if math.IsNaN(lo) {
				lo = math.Inf(-1)
			}
			if lo < lower {
				lower = lo
				loss = inf
			}
			if c.reduced {
				var r float64
				switch {
				case !(lo > 0):
					r = 0
				case wdi == 0:
					r = math.Inf(1)
				default:
					r = lo / wdi * c.invRhoPre * (1 - 4*u64)
				}
				pair = min(pair, r)
			}
		}
		cert.Margin = margin
		cert.MarginLower = lower
		cert.Certified = lower > 0
		if cert.Certified {
			cert.Radius = lower * c.invS2Rho * (1 - 2*u64)
		}
		if c.reduced {
			cert.PairRadius = pair
			if !cert.Certified {
				cert.PairRadius = 0
			}
		}
		ax[j] = aux{eErr: eErr, loss: loss}
	}
}

// maxOutputsStack is the number of classes whose outputs fit in a stack
// buffer; wider outputs use a scratch slice.
const maxOutputsStack = 256

func (sc *scratch) outBuf(d int) []float64 {
	if cap(sc.wide) < d { // never for models with ≤ 256 classes
		sc.wide = make([]float64, d)
	}
	return sc.wide[:d]
}
