package lrrn

import (
	"fmt"

	"github.com/lrrn/lrrn/asm"
)

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
	tile  int         // inputs per tile: TileSize (other sizes only in benchmarks)
	z     [][]float32 // per layer, d_k × tile (unit-major)
	w0x   []float32   // d_1 × tile: W_0 x of the tile
	c1    []float32   // d_1 × tile: the input part of c_1
	c     []float32   // max d × tile
	sweep []float32   // 2·chunk × tile: the blocked sweep's scratch
	drive []float32   // d_L × tile: the output drive of FreeDrivenFrom, nil until used
	cKeep []float32   // max d × tile: c kept for the next sweep (SetSweeps > 1), nil until used
}

// NewWorkspace returns a workspace for this solver's model.
func (s *Solver) NewWorkspace() *Workspace { return s.newWorkspace(TileSize) }

// newWorkspace returns a workspace for tiles of `tile` inputs.
func (s *Solver) newWorkspace(tile int) *Workspace {
	m := s.m
	ws := &Workspace{tile: tile, z: make([][]float32, m.L()+1)}
	maxd := 0
	for k := 1; k <= m.L(); k++ {
		ws.z[k] = make([]float32, m.Sizes[k]*tile)
		maxd = max(maxd, m.Sizes[k])
	}
	ws.w0x = make([]float32, m.Sizes[1]*tile)
	ws.c1 = make([]float32, m.Sizes[1]*tile)
	ws.c = make([]float32, maxd*tile)
	chunk := 0
	for _, p := range []*plan{&s.free, &s.clamped} {
		for _, lp := range p.layers {
			chunk = max(chunk, lp.chunk)
		}
	}
	ws.sweep = make([]float32, 2*chunk*tile)
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
	return s.solve(ws, x, nil, nil, nil, false, n, passes, st, false)
}

// ContinueFree runs `passes` more BCD passes on the free states in st
// (made by Free for the same x) — the adaptive mode's "keep going".
func (s *Solver) ContinueFree(ws *Workspace, x []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, nil, nil, false, n, passes, st, true)
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
	return s.solve(ws, nil, v, nil, nil, false, n, passes, st, false)
}

// ContinueFreeWithInput is ContinueFree with the input part given (see
// FreeWithInput): `passes` more passes on the free states in st.
func (s *Solver) ContinueFreeWithInput(ws *Workspace, v []float32, n, passes int, st *States) error {
	if err := s.checkInputPart(v, n, st); err != nil {
		return err
	}
	return s.solve(ws, nil, v, nil, nil, false, n, passes, st, true)
}

// Clamped infers the clamped states of n inputs: the output layer is held
// at the targets (n × d_L, input-major) and layers 1 … L−1 are minimised,
// feed-forward initialisation then `passes` passes.
func (s *Solver) Clamped(ws *Workspace, x, targets []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, targets, nil, true, n, passes, st, false)
}

// ClampedFrom is Clamped started from the states in st (for example the
// free states of the same inputs, whose output is near the targets)
// instead of the feed-forward pass; the result replaces st. Training with
// a target near the free output (train.Objective) needs fewer passes so.
func (s *Solver) ClampedFrom(ws *Workspace, x, targets []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	return s.solve(ws, x, nil, targets, nil, true, n, passes, st, true)
}

// FreeDrivenFrom is ContinueFree for the energy with a linear term on the
// output layer, one drive vector u_i (d_L values) per input:
//
//	E_u(z; x_i) = E(z; x_i) − γ^{L−1}·⟨u_i, z_L⟩
//
// minimised from the states in st (for example the free states of the
// same inputs), `passes` passes; the result replaces st. drive holds n × d_L
// values, input-major. This is the nudged phase of equilibrium propagation
// with the loss linearised at the free output: the drive −α∇ℓ pulls the
// output down the loss (train.Objective's soft and symmetric nudges). The
// reduced form (β_{L−1} = 0), whose free problem eliminates the output, is
// refused.
func (s *Solver) FreeDrivenFrom(ws *Workspace, x, drive []float32, n, passes int, st *States) error {
	if err := s.checkInputs(x, n, st); err != nil {
		return err
	}
	if s.reduced {
		return fmt.Errorf("lrrn: a drive on the output needs a reconstructing output layer (β_%d > 0): %w", s.m.L()-1, ErrShape)
	}
	if dL := s.m.Sizes[s.m.L()]; len(drive) != n*dL {
		return fmt.Errorf("lrrn: %d drive values for %d inputs of %d outputs: %w", len(drive), n, dL, ErrShape)
	}
	return s.solve(ws, x, nil, nil, drive, false, n, passes, st, true)
}

// solve is the one loop behind the entry points above (their inputs
// checked): per tile, the input part (W_0 x from x, or given as v), the
// starting states (the feed-forward pass, or st's when warm), the
// targets of a clamped problem or the drive of a driven free one, the
// passes, and the eliminated output of a reduced free problem.
func (s *Solver) solve(ws *Workspace, x, v, targets, drive []float32, clamped bool, n, passes int, st *States, warm bool) error {
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
	for t0 := 0; t0 < n; t0 += ws.tile {
		t := min(ws.tile, n-t0)
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
		var dr []float32
		if drive != nil {
			if ws.drive == nil {
				ws.drive = make([]float32, dL*ws.tile)
			}
			dr = ws.drive[:dL*t]
			transposeIn(dr, drive[t0*dL:(t0+t)*dL], t, dL)
		}
		s.tilePasses(ws, t, passes, p, dr)
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

// tilePasses runs BCD passes over the tile; drive (d_L × t, or nil) is
// added to the output block's c (rows scaled by 1/γ^{L−1}: the term
// −γ^{L−1}⟨u, z_L⟩ of FreeDrivenFrom).
func (s *Solver) tilePasses(ws *Workspace, t, passes int, p *plan, drive []float32) {
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
			if drive != nil && k == m.L() {
				for i, u := range drive {
					c[i] += u
				}
			}
			z := ws.z[k][:d*t]
			if n := s.Sweeps(); n > 1 {
				// the blocked sweep overwrites c: keep it for the next
				if ws.cKeep == nil {
					ws.cKeep = make([]float32, len(ws.c))
				}
				keep := ws.cKeep[:d*t]
				copy(keep, c)
				for r := 1; r < n; r++ {
					sweepTile(ws, lp, z, c, t)
					copy(c, keep)
				}
			}
			sweepTile(ws, lp, z, c, t)
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
