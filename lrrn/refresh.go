package lrrn

import (
	"fmt"

	"github.com/lrrn/lrrn/asm"
)

// refreshScratch holds Refresh's per-weight-layer products, allocated on
// the first call and reused after.
type refreshScratch struct {
	needRows []bool      // needRows[k]: some H uses β_k W_k W_kᵀ
	needCols []bool      // needCols[k]: some H uses W_kᵀ W_k
	rows     [][]float32 // rows[k] = W_k W_kᵀ (d_{k+1}×d_{k+1})
	cols     [][]float32 // cols[k] = W_kᵀ W_k (d_k×d_k)
	wt       [][]float32 // wt[k] = W_kᵀ (d_k×d_{k+1})
	h        []float32   // d×d assembly of one H, then W_kᵀ b_k
	parts    int         // RefreshParallel's last parts …
	grams    func(int)   // … and its pieces, made once
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
// RefreshParallel splits the work over goroutines.
func (s *Solver) Refresh() {
	s.refreshGrams(0, 1)
	s.refreshAssemble()
}

// RefreshParallel is Refresh with the Gram products, its dominant cost,
// split by rows into parts pieces for the caller's goroutines: run(f) must
// call f(part) once for every part = 0 … parts−1, in any order and
// concurrently or not, and return after every call returned. The pieces
// write disjoint memory; the rest of Refresh runs after run returns. For a
// given parts the result is deterministic. train.Trainer refreshes so on
// its worker pool after every step. After the first call with a given
// parts, RefreshParallel does not allocate.
func (s *Solver) RefreshParallel(parts int, run func(f func(part int))) {
	if parts < 1 {
		panic(fmt.Sprintf("lrrn: RefreshParallel with parts = %d, want ≥ 1", parts))
	}
	rs := s.refreshScratch()
	if rs.parts != parts {
		rs.parts = parts
		rs.grams = func(part int) { s.refreshGrams(part, parts) }
	}
	run(rs.grams)
	s.refreshAssemble()
}

// refreshGrams computes rows [part·d/parts, (part+1)·d/parts) of every Gram
// product Refresh needs. Different parts write disjoint memory and may run
// concurrently; all parts must finish before refreshAssemble.
func (s *Solver) refreshGrams(part, parts int) {
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

// refreshAssemble finishes Refresh after refreshGrams: it builds every
// layer's H, 1/H_ii, P, Q and e from the Gram products.
func (s *Solver) refreshAssemble() {
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
