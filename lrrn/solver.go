package lrrn

import (
	"fmt"

	"github.com/lrrn/lrrn/asm"
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
}

// plan is the ordered list of BCD blocks of one problem.
type plan struct {
	layers []layerPlan
}

// Solver runs BCD inference for one model. It holds everything that
// depends only on the weights (H_k, scaled copies of W_k and W_kᵀ, …),
// computed once by NewSolver. A Solver is read-only after construction and
// safe for concurrent use; each goroutine needs its own Workspace.
//
// The Solver keeps a reference to the model's weights: do not modify the
// model while the Solver is in use (build a new Solver after a training
// step).
type Solver struct {
	m       *Model
	reduced bool // free inference eliminates the output (ReducedOutput)
	free    plan
	clamped plan
	p1      float32 // 1+β_0, the factor of W_0 x in c_1
	rs      *refreshScratch
}

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
	lp := layerPlan{k: k, d: d}
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

// States holds the layer activations of N inputs, input-major:
// Z[k][i*d_k : (i+1)*d_k] is layer k of input i, for k = 1 … L (Z[0] is
// nil: the inputs belong to the caller).
type States struct {
	N int
	Z [][]float32
}

// NewStates returns states for n inputs of the model's sizes.
func (s *Solver) NewStates(n int) *States {
	st := &States{Z: make([][]float32, s.m.L()+1)}
	st.resize(s.m.Sizes, n)
	return st
}

func (st *States) resize(sizes []int, n int) {
	st.N = n
	for k := 1; k < len(sizes); k++ {
		need := n * sizes[k]
		if cap(st.Z[k]) < need {
			st.Z[k] = make([]float32, need)
		}
		st.Z[k] = st.Z[k][:need]
	}
}

// Layer returns layer k (1 … L) of input i.
func (st *States) Layer(k, i int) []float32 {
	d := len(st.Z[k]) / st.N
	return st.Z[k][i*d : i*d+d]
}

// Output returns the output layer of input i.
func (st *States) Output(i int) []float32 { return st.Layer(len(st.Z)-1, i) }

// Workspace is the scratch memory of one goroutine's inference: tile
// buffers sized for TileSize inputs. Reusing a Workspace makes inference
// allocation-free in steady state.
type Workspace struct {
	z   [][]float32 // per layer, d_k × TileSize (unit-major)
	w0x []float32   // d_1 × TileSize: W_0 x of the tile
	c1  []float32   // d_1 × TileSize: the input part of c_1
	c   []float32   // max d × TileSize
}

// NewWorkspace returns a workspace for this solver's model.
func (s *Solver) NewWorkspace() *Workspace {
	m := s.m
	ws := &Workspace{z: make([][]float32, m.L()+1)}
	maxd := 0
	for k := 1; k <= m.L(); k++ {
		ws.z[k] = make([]float32, m.Sizes[k]*TileSize)
		maxd = max(maxd, m.Sizes[k])
	}
	ws.w0x = make([]float32, m.Sizes[1]*TileSize)
	ws.c1 = make([]float32, m.Sizes[1]*TileSize)
	ws.c = make([]float32, maxd*TileSize)
	return ws
}

func (s *Solver) checkInputs(x []float32, n int, st *States) error {
	d0 := s.m.Sizes[0]
	if n < 0 || len(x) != n*d0 {
		return fmt.Errorf("lrrn: %d input values for %d inputs of %d: %w", len(x), n, d0, ErrShape)
	}
	return s.checkStates(st)
}

func (s *Solver) checkInputPart(v []float32, n int, st *States) error {
	d1 := s.m.Sizes[1]
	if n < 0 || len(v) != n*d1 {
		return fmt.Errorf("lrrn: %d input-part values for %d inputs of %d: %w", len(v), n, d1, ErrShape)
	}
	return s.checkStates(st)
}

func (s *Solver) checkStates(st *States) error {
	if st == nil || len(st.Z) != s.m.L()+1 {
		return fmt.Errorf("lrrn: states not made by this solver's NewStates: %w", ErrShape)
	}
	return nil
}

// Free infers the free states of n inputs x (n × d_0, input-major) with a
// feed-forward initialisation followed by `passes` BCD passes, and writes
// them into st (resized to n). ws may be nil (then one is allocated).
func (s *Solver) Free(ws *Workspace, x []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, nil, false, n, passes, st, false)
}

// ContinueFree runs `passes` more BCD passes on the free states in st
// (made by Free for the same x) — the adaptive mode's "keep going".
func (s *Solver) ContinueFree(ws *Workspace, x []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, nil, false, n, passes, st, true)
}

// FreeWithInput is Free for callers that computed the input part
// v = W_0 x themselves (v holds n rows of d_1 values, input-major): the
// solver uses it instead of forming W_0 x, the only d_0-wide product. The
// certifier computes v with a tighter rounding bound and would otherwise
// form it twice. Every input is computed by the same operations whatever
// its position in the tile, as long as tiles are full (n a multiple of
// TileSize): the results do not depend on which inputs share a tile.
func (s *Solver) FreeWithInput(ws *Workspace, v []float32, n, passes int, st *States) error {
	if err := s.checkInputPart(v, n, st); err != nil {
		return err
	}
	return s.solve(ws, nil, v, nil, false, n, passes, st, false)
}

// ContinueFreeWithInput is ContinueFree with the input part given (see
// FreeWithInput): `passes` more passes on the free states in st.
func (s *Solver) ContinueFreeWithInput(ws *Workspace, v []float32, n, passes int, st *States) error {
	if err := s.checkInputPart(v, n, st); err != nil {
		return err
	}
	return s.solve(ws, nil, v, nil, false, n, passes, st, true)
}

// Clamped infers the clamped states of n inputs: the output layer is held
// at the targets (n × d_L, input-major) and layers 1 … L−1 are minimised,
// feed-forward initialisation then `passes` passes.
func (s *Solver) Clamped(ws *Workspace, x, targets []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, targets, true, n, passes, st, false)
}

// ClampedFrom is Clamped started from the states in st (for example the
// free states of the same inputs, whose output is near the targets)
// instead of the feed-forward pass; the result replaces st. Training with
// a target near the free output (train.Objective) needs fewer passes so.
func (s *Solver) ClampedFrom(ws *Workspace, x, targets []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, targets, true, n, passes, st, true)
}

// solve is the one loop behind the entry points above (their inputs
// checked): per tile, the input part (W_0 x from x, or given as v), the
// starting states (the feed-forward pass, or st's when warm), the
// targets of a clamped problem, the passes, and the eliminated output of a
// reduced free problem.
func (s *Solver) solve(ws *Workspace, x, v, targets []float32, clamped bool, n, passes int, st *States, warm bool) error {
	L := s.m.L()
	dL := s.m.Sizes[L]
	p := &s.free
	if clamped {
		p = &s.clamped
		if len(targets) != n*dL {
			return fmt.Errorf("lrrn: %d target values for %d inputs of %d outputs: %w", len(targets), n, dL, ErrShape)
		}
	}
	if warm {
		if st.N != n {
			return fmt.Errorf("lrrn: states hold %d inputs, not %d: %w", st.N, n, ErrShape)
		}
	} else {
		st.resize(s.m.Sizes, n)
	}
	if ws == nil {
		ws = s.NewWorkspace()
	}
	d0, d1 := s.m.Sizes[0], s.m.Sizes[1]
	for t0 := 0; t0 < n; t0 += TileSize {
		t := min(TileSize, n-t0)
		if v != nil {
			s.setInputPart(ws, v[t0*d1:(t0+t)*d1], t, p)
		} else {
			s.tileInput(ws, x[t0*d0:(t0+t)*d0], t, p)
		}
		switch {
		case warm:
			s.loadTile(ws, st, t0, t)
		case clamped:
			s.feedForward(ws, t, L-1)
		default:
			s.feedForward(ws, t, len(p.layers))
		}
		if clamped {
			transposeIn(ws.z[L][:dL*t], targets[t0*dL:(t0+t)*dL], t, dL)
		}
		s.tilePasses(ws, t, passes, p)
		if !clamped {
			s.finishFree(ws, t)
		}
		s.storeTile(ws, st, t0, t)
	}
	return nil
}

// tileInput computes W_0 x for the tile (the only d_0-wide product) and the
// input part of c_1 for problem p.
func (s *Solver) tileInput(ws *Workspace, x []float32, t int, p *plan) {
	m := s.m
	d1, d0 := m.Sizes[1], m.Sizes[0]
	asm.GemmNT(ws.w0x[:d1*t], m.W[0], x, d1, d0, t, false)
	s.inputC1(ws, t, p)
}

// setInputPart copies a given W_0 x (t×d_1, input-major) into the tile and
// computes the input part of c_1.
func (s *Solver) setInputPart(ws *Workspace, v []float32, t int, p *plan) {
	transposeIn(ws.w0x[:s.m.Sizes[1]*t], v, t, s.m.Sizes[1])
	s.inputC1(ws, t, p)
}

// inputC1 sets the input part of c_1, (1+β_0)W_0x + e_1, from the tile's
// W_0 x.
func (s *Solver) inputC1(ws *Workspace, t int, p *plan) {
	if len(p.layers) == 0 {
		return
	}
	d1 := s.m.Sizes[1]
	w0x := ws.w0x[:d1*t]
	e := p.layers[0].e
	c1 := ws.c1[:d1*t]
	for i := 0; i < d1; i++ {
		row, src := c1[i*t:i*t+t], w0x[i*t:i*t+t]
		for j, v := range src {
			row[j] = s.p1*v + e[i]
		}
	}
}

// feedForward sets z_1 … z_upto of the tile to the feed-forward network
// Π(W_k z_k + b_k), starting from W_0 x.
func (s *Solver) feedForward(ws *Workspace, t, upto int) {
	m := s.m
	for k := 1; k <= upto; k++ {
		d := m.Sizes[k]
		z := ws.z[k][:d*t]
		if k == 1 {
			copy(z, ws.w0x[:d*t])
		} else {
			asm.Gemm(z, m.W[k-1], ws.z[k-1][:m.Sizes[k-1]*t], d, m.Sizes[k-1], t, false)
		}
		lo, hi := m.Acts[k-1].Bounds()
		b := m.B[k-1]
		for i := 0; i < d; i++ {
			row := z[i*t : i*t+t]
			addConst(row, b[i])
			asm.Clamp(row, lo, hi)
		}
	}
}

func addConst(row []float32, v float32) {
	for j := range row {
		row[j] += v
	}
}

// tilePasses runs BCD passes over the tile.
func (s *Solver) tilePasses(ws *Workspace, t, passes int, p *plan) {
	m := s.m
	for pass := 0; pass < passes; pass++ {
		for li := range p.layers {
			lp := &p.layers[li]
			k, d := lp.k, lp.d
			c := ws.c[:d*t]
			if k == 1 {
				copy(c, ws.c1[:d*t])
			} else {
				for i := 0; i < d; i++ {
					row := c[i*t : i*t+t]
					for j := range row {
						row[j] = lp.e[i]
					}
				}
				asm.Gemm(c, lp.p, ws.z[k-1][:m.Sizes[k-1]*t], d, m.Sizes[k-1], t, true)
			}
			if lp.q != nil {
				asm.Gemm(c, lp.q, ws.z[k+1][:m.Sizes[k+1]*t], d, m.Sizes[k+1], t, true)
			}
			z := ws.z[k][:d*t]
			if t == 1 { // a single problem: the whole sweep in one call
				asm.Sweep(z, lp.h, c, lp.invH, d, lp.lo, lp.hi)
				continue
			}
			for i := 0; i < d; i++ {
				asm.UnitUpdate(z, lp.h[i*d:i*d+d], c[i*t:i*t+t], i, d, t, lp.invH[i], lp.lo, lp.hi)
			}
		}
	}
}

// finishFree computes the eliminated output z_L = W_{L−1} z_{L−1} + b_{L−1}
// of the reduced free problem.
func (s *Solver) finishFree(ws *Workspace, t int) {
	if !s.reduced {
		return
	}
	m := s.m
	L := m.L()
	dL := m.Sizes[L]
	z := ws.z[L][:dL*t]
	if L == 1 {
		copy(z, ws.w0x[:dL*t])
	} else {
		asm.Gemm(z, m.W[L-1], ws.z[L-1][:m.Sizes[L-1]*t], dL, m.Sizes[L-1], t, false)
	}
	for i := 0; i < dL; i++ {
		addConst(z[i*t:i*t+t], m.B[L-1][i])
	}
}

// storeTile copies the tile's layers (unit-major) into st (input-major).
func (s *Solver) storeTile(ws *Workspace, st *States, t0, t int) {
	for k := 1; k <= s.m.L(); k++ {
		d := s.m.Sizes[k]
		transposeOut(st.Z[k][t0*d:(t0+t)*d], ws.z[k][:d*t], t, d)
	}
}

// loadTile copies st's layers of inputs t0 … t0+t−1 into the tile.
func (s *Solver) loadTile(ws *Workspace, st *States, t0, t int) {
	for k := 1; k <= s.m.L(); k++ {
		d := s.m.Sizes[k]
		transposeIn(ws.z[k][:d*t], st.Z[k][t0*d:(t0+t)*d], t, d)
	}
}

// transposeIn writes src (t × d, input-major) into dst (d × t).
func transposeIn(dst, src []float32, t, d int) {
	for j := 0; j < t; j++ {
		row := src[j*d : j*d+d]
		for i, v := range row {
			dst[i*t+j] = v
		}
	}
}

// transposeOut writes src (d × t) into dst (t × d, input-major).
func transposeOut(dst, src []float32, t, d int) {
	for j := 0; j < t; j++ {
		row := dst[j*d : j*d+d]
		for i := range row {
			row[i] = src[i*t+j]
		}
	}
}

// refreshScratch holds Refresh's per-weight-layer products, allocated on
// the first call and reused after.
type refreshScratch struct {
	needRows []bool      // needRows[k]: some H uses β_k W_k W_kᵀ
	needCols []bool      // needCols[k]: some H uses W_kᵀ W_k
	rows     [][]float32 // rows[k] = W_k W_kᵀ (d_{k+1}×d_{k+1})
	cols     [][]float32 // cols[k] = W_kᵀ W_k (d_k×d_k)
	wt       [][]float32 // wt[k] = W_kᵀ (d_k×d_{k+1})
	h        []float32   // d×d assembly of one H, then W_kᵀ b_k
}

func (s *Solver) refreshScratch() *refreshScratch {
	if s.rs != nil {
		return s.rs
	}
	m := s.m
	L := m.L()
	rs := &refreshScratch{needRows: make([]bool, L), needCols: make([]bool, L),
		rows: make([][]float32, L), cols: make([][]float32, L), wt: make([][]float32, L)}
	maxd := 0
	for _, p := range []*plan{&s.free, &s.clamped} {
		for _, lp := range p.layers {
			k, d := lp.k, lp.d
			maxd = max(maxd, d)
			if m.Beta[k-1] != 0 && rs.rows[k-1] == nil {
				rs.needRows[k-1] = true
				rs.rows[k-1] = make([]float32, d*d)
			}
			if lp.q != nil && rs.cols[k] == nil {
				rs.needCols[k] = true
				rs.cols[k] = make([]float32, d*d)
				rs.wt[k] = make([]float32, d*m.Sizes[k+1])
			}
		}
	}
	rs.h = make([]float32, maxd*maxd+maxd)
	s.rs = rs
	return rs
}

// Refresh recomputes everything the solver precomputed from the model's
// weights (H_k, the scaled copies of W_k and W_kᵀ, e_k) in place, after the
// weights were changed: a training step updates the weights and refreshes
// the solver instead of building a new one. The shapes and the
// configuration (sizes, activations, β, γ) must not have changed.
//
// Refresh works in float32 over the asm kernels (the Gram products
// W_{k−1}W_{k−1}ᵀ and W_kᵀW_k are the dominant cost), while NewSolver
// accumulates in float64: the two agree to float32 rounding, not bit for
// bit. Refresh is deterministic, and after the first call it does not
// allocate. It must not run concurrently with inference on this solver.
//
// Refresh is RefreshGrams(0, 1) followed by RefreshAssemble; callers with
// several goroutines may run RefreshGrams(part, parts) for every part in
// parallel instead.
func (s *Solver) Refresh() {
	s.RefreshGrams(0, 1)
	s.RefreshAssemble()
}

// RefreshGrams computes rows [part·d/parts, (part+1)·d/parts) of every Gram
// product Refresh needs. Different parts write disjoint memory and may run
// concurrently; all parts must finish before RefreshAssemble.
func (s *Solver) RefreshGrams(part, parts int) {
	m := s.m
	rs := s.refreshScratch()
	for k := range rs.needRows {
		if rs.needRows[k] {
			d, dl := m.Sizes[k+1], m.Sizes[k]
			lo, hi := part*d/parts, (part+1)*d/parts
			if hi > lo {
				asm.GemmNT(rs.rows[k][lo*d:hi*d], m.W[k][lo*dl:hi*dl], m.W[k][:d*dl], hi-lo, dl, d, false)
			}
		}
		if rs.needCols[k] {
			d, du := m.Sizes[k], m.Sizes[k+1]
			lo, hi := part*d/parts, (part+1)*d/parts
			if hi == lo {
				continue
			}
			// wt rows lo … hi (columns of W_k), then those rows of wt·wtᵀ;
			// the other rows of wt are written by the other parts, so every
			// part transposes the whole of W_k into its own rows only and
			// reads W_k directly for the product's right-hand side.
			wt := rs.wt[k]
			Wu := m.W[k]
			for r := 0; r < du; r++ {
				row := Wu[r*d : r*d+d]
				for i := lo; i < hi; i++ {
					wt[i*du+r] = row[i]
				}
			}
			// (W_kᵀ W_k)[i][j] = Σ_r W[r][i] W[r][j]: rows lo … hi = wt[lo:hi] · W_k
			asm.Gemm(rs.cols[k][lo*d:hi*d], wt[lo*du:hi*du], Wu[:du*d], hi-lo, du, d, false)
		}
	}
}

// RefreshAssemble finishes Refresh after RefreshGrams: it builds every
// layer's H, 1/H_ii, P, Q and e from the Gram products.
func (s *Solver) RefreshAssemble() {
	m := s.m
	rs := s.refreshScratch()
	for _, p := range []*plan{&s.free, &s.clamped} {
		for li := range p.layers {
			lp := &p.layers[li]
			k, d := lp.k, lp.d
			betaL := float32(m.Beta[k-1])
			Wl := m.W[k-1]
			h := rs.h[:d*d]
			if betaL != 0 {
				g := rs.rows[k-1]
				for i := range h {
					h[i] = betaL * g[i]
				}
			} else {
				clear(h)
			}
			for i := 0; i < d; i++ {
				h[i*d+i]++
			}
			copy(lp.e, m.B[k-1])
			if lp.p != nil {
				p1 := 1 + betaL
				for i, w := range Wl {
					lp.p[i] = p1 * w
				}
			}
			if lp.q != nil {
				du := m.Sizes[k+1]
				Wu := m.W[k]
				g := float32(m.Gamma)
				betaU := float32(m.Beta[k])
				c := rs.cols[k]
				for i := range h {
					h[i] += g * c[i]
				}
				for i := 0; i < d; i++ {
					h[i*d+i] += g * betaU
				}
				qs := g * (1 + betaU)
				for i, w := range rs.wt[k] {
					lp.q[i] = qs * w
				}
				// e = b_{k−1} − γ W_kᵀ b_k
				tail := rs.h[d*d : d*d+d]
				asm.MatTVec(tail, Wu, du, d, m.B[k], false)
				for i := range lp.e {
					lp.e[i] -= g * tail[i]
				}
			}
			copy(lp.h, h)
			for i := 0; i < d; i++ {
				lp.invH[i] = 1 / h[i*d+i]
			}
		}
	}
}

// Reset points the solver at m, a model with the same configuration as the
// solver's current model (for example a copy of it), and refreshes it.
func (s *Solver) Reset(m *Model) error {
	if err := m.Validate(); err != nil {
		return err
	}
	old := s.m
	if len(old.Sizes) != len(m.Sizes) || old.Gamma != m.Gamma {
		return fmt.Errorf("lrrn: Reset to a model of a different configuration: %w", ErrShape)
	}
	for k := range old.Sizes {
		if old.Sizes[k] != m.Sizes[k] {
			return fmt.Errorf("lrrn: Reset: layer %d has %d units, the solver's model %d: %w", k, m.Sizes[k], old.Sizes[k], ErrShape)
		}
	}
	for k := range old.Beta {
		if old.Beta[k] != m.Beta[k] || old.Acts[k] != m.Acts[k] {
			return fmt.Errorf("lrrn: Reset: β or activation of layer %d differs from the solver's model: %w", k, ErrShape)
		}
	}
	s.m = m
	s.Refresh()
	return nil
}
