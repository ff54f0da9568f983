package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/lrrn/lrrn/lrrn"
)

// Certifier certifies inputs of one model. Build it once with New: all
// per-model work (spectral bounds, ρ, μ, the solver) happens there. It is
// safe for concurrent use; per-input work does not allocate in steady
// state.
type Certifier struct {
	m       *lrrn.Model
	solver  *lrrn.Solver
	opts    Options
	bounds  Bounds
	numL    int  // L: weight layers W_0 … W_{L−1}
	numK    int  // K: variable blocks z_1 … z_K of the free problem (L−1 when reduced, else L)
	reduced bool // linear output with β_{L−1} = 0 (lrrn.Model.ReducedOutput)
	d0, d1  int
	dL      int
	blocks  []block
	taus    []tauCand
	prods   []layerProd // index j = 1 … K: the products with z_j
	zeros   []float32   // max d_k zeros: the top term of a block without one

	chunk, nchunk int
	w0c           []float32 // nchunk blocks of chunk×d1 (W_0ᵀ rows, zero-padded)
	levels        int       // buffers of the pairwise reduction of the chunks
	nzMax         int       // inputs with at most nzMax nonzero pixels take the sparse path (sparseMax)
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
	rate             float64    // estimated contraction per pass (PassRate; 0: none)
	ref              []refBlock // index k = 1 … K: the float64 residual operators (nil: not refined; refine.go)

	free chan *scratch
	// the queues of passes as needed not in use, shared by the workers
	qmu   sync.Mutex
	qpool []*passQueue
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
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
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
	// Sweeps 0: chosen for the model, 1 for fixed passes (the reference
	// iteration), else what the pass rates predict is cheapest. Passes as
	// needed also keep the rate of the count used (nextPasses, runQueue).
	var rate float64
	switch {
	case opts.Sweeps == 0 && opts.Adaptive:
		opts.Sweeps, rate = solver.AutoSweepsRate(opts.Passes)
	case opts.Sweeps == 0:
		opts.Sweeps = 1
	case opts.Adaptive:
		rate = solver.PassRate(opts.Sweeps)
	}
	if err := solver.SetSweeps(opts.Sweeps); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	c := &Certifier{m: m, solver: solver, opts: opts, numL: L, reduced: m.ReducedOutput(),
		d0: m.Sizes[0], d1: m.Sizes[1], dL: m.Sizes[L], maxPasses: opts.MaxPasses, tol: opts.AdaptiveTol}
	if rate > 0 && rate < 1 {
		c.rate = rate
	}
	c.numK = L
	if c.reduced {
		c.numK = L - 1
	}
	fro2, maxW := weightNorms(m)
	c.g32 = float32Gamma(m)
	if err := c.lipschitz(); err != nil {
		return nil, err
	}
	h := newHessian(m, c.numK, fro2, hs) // the solver's Hs_k, shared by both
	for _, lb := range c.bounds.Layers {
		h.sigma = append(h.sigma, lb.MaxUpper)
	}
	c.buildBlocks(h, fro2, maxW)
	c.buildRefine(h, fro2)
	c.buildTaus(h)
	c.buildInput(fro2, maxW)
	c.buildOutput(maxW)
	c.buildProds()
	c.free = make(chan *scratch, opts.Workers+2)
	return c, nil
}

// withDefaults checks the options and fills in the defaults.
func (opts Options) withDefaults() (Options, error) {
	if opts.Passes < 0 || opts.Workers < 0 || opts.MaxPasses < 0 || opts.AdaptiveTol < 0 || math.IsNaN(opts.AdaptiveTol) || opts.Sweeps < 0 {
		return opts, fmt.Errorf("verify: negative option in %+v", opts)
	}
	if opts.Workers > MaxWorkers {
		return opts, fmt.Errorf("verify: Workers = %d, want 0 … %d", opts.Workers, MaxWorkers)
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
	return opts, nil
}

// weightNorms returns, per weight layer k, an upper bound of ‖W_k‖_F²
// (a float64 sum of exact squares, rounded up by its γ) and max|W_k|.
func weightNorms(m *lrrn.Model) (fro2, maxW []float64) {
	L := m.L()
	fro2 = make([]float64, L)
	maxW = make([]float64, L)
	for k := 0; k < L; k++ {
		var s float64
		for _, w := range m.W[k] {
			s += float64(w) * float64(w)
			maxW[k] = max(maxW[k], math.Abs(float64(w)))
		}
		fro2[k] = mulUp(s, 1+gamma(len(m.W[k]), u64))
	}
	return fro2, maxW
}

// float32Gamma returns g32 with γ_n ≤ n·g32 in float32 (with the safety
// factor) for every n up to the longest float32 product with a state
// (n ≤ max d_k).
func float32Gamma(m *lrrn.Model) float64 {
	dmax := 1
	for _, d := range m.Sizes[1:] {
		dmax = max(dmax, d)
	}
	return mulUp(divUp(u32, down(1-float64(dmax)*u32)), safety*(1+1e-12))
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
	if err := c.checkBatch(x, labels, n); err != nil {
		return err
	}
	T := lrrn.TileSize
	ntiles := (n + T - 1) / T
	workers := min(c.opts.Workers, ntiles)
	if workers <= 1 {
		// Inline, without goroutines or closures: no allocation.
		var j batchJob
		j.init(c, x, labels, out)
		return j.inline(ctx, ntiles)
	}
	j := new(batchJob)
	j.init(c, x, labels, out)
	return j.parallel(ctx, ntiles, workers)
}

// checkBatch checks CertifyBatch's arguments for n inputs.
func (c *Certifier) checkBatch(x []float32, labels []int, n int) error {
	if len(x) != n*c.d0 {
		return fmt.Errorf("verify: %d input values for %d inputs of %d: %w", len(x), n, c.d0, ErrInput)
	}
	if labels == nil {
		return nil
	}
	if len(labels) != n {
		return fmt.Errorf("verify: %d labels for %d inputs: %w", len(labels), n, ErrInput)
	}
	for i, l := range labels {
		if l < -1 || l >= c.dL {
			return fmt.Errorf("verify: label %d of input %d outside 0 … %d: %w", l, i, c.dL-1, ErrInput)
		}
	}
	return nil
}
