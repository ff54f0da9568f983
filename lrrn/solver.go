package lrrn

import (
	"fmt"

	"github.com/lrrn/lrrn/internal/linalg"
)

// TileSize is the number of inputs that batched inference processes
// together: a layer block of a tile (d_k × TileSize float32) stays in the
// first-level cache, and a unit's update across the tile is one vector
// operation (asm.UnitUpdate).
const TileSize = 64

// layerPlan holds what BCD needs for one active layer k, precomputed per
// model. All rows are scaled by 1/γ^{k−1}, which leaves the coordinate
// update (Hz − c)_i / H_ii unchanged:
//
//	H = I + β_{k−1} W_{k−1} W_{k−1}ᵀ + [top] γ (W_kᵀ W_k + β_k I)
//	c = P z_{k−1} + e + [top] Q z_{k+1}
//	P = (1+β_{k−1}) W_{k−1},  Q = γ (1+β_k) W_kᵀ,  e = b_{k−1} − [top] γ W_kᵀ b_k
type layerPlan struct {
	k      int       // layer index, 1 … L
	d      int       // d_k
	h      []float32 // d×d
	invH   []float32 // 1/H_ii
	p      []float32 // d × d_{k−1} (k ≥ 2; layer 1 uses the per-input W_0 x)
	q      []float32 // d × d_{k+1}, nil without the top term
	e      []float32 // d
	lo, hi float32
	chunk  int // units per chunk of the blocked sweep (blockedSweep), 0: unit by unit
}

// plan is the ordered list of BCD blocks of one problem.
type plan struct {
	layers []layerPlan
}

// Solver runs BCD inference for one model. It holds everything that
// depends only on the weights (H_k, scaled copies of W_k and W_kᵀ, …),
// computed by NewSolver. Inference (Free, Clamped and their variants) only
// reads the Solver: goroutines may infer concurrently, each with its own
// Workspace.
//
// The Solver keeps a reference to the model's weights and does not watch
// them: after changing the weights, call Refresh (or RefreshParallel)
// before inferring again, as a training step does; Reset points the Solver
// at another model of the same configuration. Refresh, RefreshParallel
// and Reset write the Solver and must not run concurrently with anything
// else on it.
type Solver struct {
	m       *Model
	reduced bool // free inference eliminates the output (ReducedOutput)
	free    plan
	clamped plan
	p1      float32 // 1+β_0, the factor of W_0 x in c_1
	rs      *refreshScratch
	sweeps  int // Gauss–Seidel sweeps of each block per pass (SetSweeps)
}

// MaxSweeps bounds SetSweeps.
const MaxSweeps = 64

// SetSweeps sets the number of Gauss–Seidel sweeps over a block's units in
// each BCD pass (default 1, the reference of docs/math.md): the block's
// right-hand side c_k is formed once per pass and its units are swept n
// times. Every sweep decreases the energy, so the minimiser is the same;
// what changes is the work per pass and the passes needed. One sweep is
// cheapest where the blocks are well conditioned (small weights); with
// large weights (σ_max(W_k) of several) a block's own sweeps converge
// slowly and two or three sweeps per pass reach the minimiser in fewer
// operations (docs/math.md, "Inner sweeps"). Like Refresh, SetSweeps
// must not run concurrently with inference.
func (s *Solver) SetSweeps(n int) error {
	if n < 1 || n > MaxSweeps {
		return fmt.Errorf("lrrn: %d sweeps per block and pass, want 1 … %d", n, MaxSweeps)
	}
	s.sweeps = n
	return nil
}

// Sweeps returns the Gauss–Seidel sweeps per block and pass.
func (s *Solver) Sweeps() int { return max(1, s.sweeps) }

// NewSolver validates m and precomputes the per-model quantities of BCD.
func NewSolver(m *Model) (*Solver, error) {
	s, _, err := NewSolverHessians(m)
	return s, err
}

// NewSolverHessians is NewSolver that also returns, in float64 as assembled
// before the rounding to float32, the matrices of the free problem's
// blocks k = 1 … K (K = L−1 in the reduced form, else L):
//
//	H_k = I + β_{k−1}W_{k−1}W_{k−1}ᵀ + [k<K] γ(W_kᵀW_k + β_k I)
//
// as Model.HessianBlock builds them (the one builder: each Gram entry
// summed in float64, where products of float32 values are exact, in an
// order fixed by the sizes and the SIMD tier). Package verify bounds their
// rounding error and uses them instead of forming the same products a
// second time.
func NewSolverHessians(m *Model) (*Solver, [][]float64, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	s := &Solver{m: m, reduced: m.ReducedOutput(), p1: float32(1 + m.Beta[0])}
	gc := &gramCache{m: m}
	L := m.L()
	// Free problem: blocks 1 … L, or 1 … L−1 with the output eliminated.
	last := L
	if s.reduced {
		last = L - 1
	}
	var hs [][]float64
	for k := 1; k <= last; k++ {
		lp, H := s.layer(k, k < last, gc)
		s.free.layers = append(s.free.layers, lp)
		hs = append(hs, H)
	}
	// Clamped problem: blocks 1 … L−1, each with its top term (z_L = t).
	// Where a free block also has its top term the two are the same: share
	// it (a d×d matrix less per layer; Refresh recomputes shared blocks
	// twice, identically).
	for k := 1; k <= L-1; k++ {
		if k < last {
			s.clamped.layers = append(s.clamped.layers, s.free.layers[k-1])
			continue
		}
		lp, _ := s.layer(k, true, gc)
		s.clamped.layers = append(s.clamped.layers, lp)
	}
	return s, hs, nil
}

// gramCache computes each Gram product NewSolver needs once: the free and
// clamped problems share most of them.
type gramCache struct {
	m          *Model
	rows, cols map[int][]float64
}

// rowGram returns W_kW_kᵀ (d_{k+1}×d_{k+1}, float64).
func (gc *gramCache) rowGram(k int) []float64 {
	if g, ok := gc.rows[k]; ok {
		return g
	}
	d, dl := gc.m.Sizes[k+1], gc.m.Sizes[k]
	w := make([]float64, d*dl)
	for i, v := range gc.m.W[k] {
		w[i] = float64(v)
	}
	g := make([]float64, d*d)
	linalg.Gram(g, w, d, dl)
	if gc.rows == nil {
		gc.rows = map[int][]float64{}
	}
	gc.rows[k] = g
	return g
}

// colGram returns W_kᵀW_k (d_k×d_k, float64).
func (gc *gramCache) colGram(k int) []float64 {
	if g, ok := gc.cols[k]; ok {
		return g
	}
	d, du := gc.m.Sizes[k], gc.m.Sizes[k+1]
	W := gc.m.W[k]
	wt := make([]float64, d*du) // columns of W_k
	for r := 0; r < du; r++ {
		for i := 0; i < d; i++ {
			wt[i*du+r] = float64(W[r*d+i])
		}
	}
	g := make([]float64, d*d)
	linalg.Gram(g, wt, d, du)
	if gc.cols == nil {
		gc.cols = map[int][]float64{}
	}
	gc.cols[k] = g
	return g
}

// Model returns the model the solver was built for.
func (s *Solver) Model() *Model { return s.m }

// layer builds the plan of block k; top says whether the term k (z_{k+1}
// regressed from z_k) is part of the problem. It also returns H in float64.
func (s *Solver) layer(k int, top bool, gc *gramCache) (layerPlan, []float64) {
	m := s.m
	d, dl := m.Sizes[k], m.Sizes[k-1]
	lp := layerPlan{k: k, d: d, chunk: sweepChunk(d)}
	lp.lo, lp.hi = m.Acts[k-1].Bounds()
	Wl, bl := m.W[k-1], m.B[k-1] // d × dl
	betaL := m.Beta[k-1]
	// H in float64 (the Gram products blocked and spread over the cores).
	H := m.hessianBlock(k, top, gc)
	e := make([]float64, d)
	for i := range e {
		e[i] = float64(bl[i])
	}
	if k >= 2 {
		lp.p = make([]float32, d*dl)
		for i, w := range Wl {
			lp.p[i] = float32((1 + betaL) * float64(w))
		}
	}
	if top {
		g := m.Gamma
		du := m.Sizes[k+1]
		Wu, bu := m.W[k], m.B[k] // du × d
		betaU := m.Beta[k]
		lp.q = make([]float32, d*du)
		for r := 0; r < du; r++ {
			for i := 0; i < d; i++ {
				w := float64(Wu[r*d+i])
				lp.q[i*du+r] = float32(g * (1 + betaU) * w)
				e[i] -= g * w * float64(bu[r])
			}
		}
	}
	lp.h = make([]float32, d*d)
	for i, v := range H {
		lp.h[i] = float32(v)
	}
	lp.invH = make([]float32, d)
	lp.e = make([]float32, d)
	for i := 0; i < d; i++ {
		lp.invH[i] = float32(1 / H[i*d+i])
		lp.e[i] = float32(e[i])
	}
	return lp, H
}
