package train

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/lrrn"
)

// gradient holds a gradient (or any parameter-shaped quantity) with the model's
// shapes: W[k] is d_{k+1}×d_k row-major and B[k] has d_{k+1} entries.
type gradient struct {
	W [][]float32
	B [][]float32
}

// newGradient returns a zero gradient for models of configuration c.
func newGradient(c *lrrn.Config) *gradient {
	L := c.L()
	g := &gradient{W: make([][]float32, L), B: make([][]float32, L)}
	for k := 0; k < L; k++ {
		g.W[k] = make([]float32, c.Sizes[k+1]*c.Sizes[k])
		g.B[k] = make([]float32, c.Sizes[k+1])
	}
	return g
}

// zero sets every entry to zero.
func (g *gradient) zero() {
	for k := range g.W {
		clear(g.W[k])
		clear(g.B[k])
	}
}

// paramGrad computes, for a batch of n inputs and one or two phases of
// states (free ž and clamped ẑ), the parameter gradient
//
//	Σ_p sign_p · coef · Σ_i ∂_θ E(z_p(x_i); x_i)
//
// with ∂E/∂W_k = γ^k (−r_k z_kᵀ − β_k z_{k+1} s_kᵀ) and ∂E/∂b_k = −γ^k r_k
// (docs/math.md, Training), together with each phase's energies.
//
// Per layer the whole batch goes into one matrix product: the columns of
// A (d_{k+1} × m) hold the scaled r_k and z_{k+1} of every input and phase,
// the rows of B (m × d_k) the matching z_k and s_k, and ∂W_k = A·B. For the
// contrastive pair, the input layer's r-terms are merged: r̂_0 − ř_0 =
// ẑ_1 − ž_1 exactly (the W_0 x + b_0 parts cancel), so they share one block
// of columns with x as rows.
//
// The work is split so that phases can be prepared by different goroutines
// (preparePhase writes only phase p's columns, rows and buffers), and the
// final products by row ranges (accumulate).
type paramGrad struct {
	m      *lrrn.Model
	phases int
	merged bool  // two phases over the same inputs with signs −1, +1: the input layer's r merged
	n      []int // inputs of each phase in the current batch
	a, b   [][]float32
	tmp    [][]float32   // per phase, n × max d scratch
	bias   [][][]float32 // per phase and layer: sign·coef·(−γ^k) Σ_i r_k
	energy [][]float64   // per phase, per input: E(z_p(x_i); x_i)
	xw     [][]float32   // per phase: x W_0ᵀ (n × d_1), for the energies
	coef   float32
	signs  []float32
	zs     []*lrrn.States
	x      [][]float32
}

// newParamGrad returns the workspace for `phases` phases of up to maxN
// inputs each; merged selects the contrastive pair layout (phase 0 free with
// sign −1, phase 1 clamped with sign +1, the same inputs).
func newParamGrad(m *lrrn.Model, phases, maxN int, merged bool) *paramGrad {
	L := m.L()
	pg := &paramGrad{m: m, phases: phases, merged: merged && phases == 2}
	pg.a = make([][]float32, L)
	pg.b = make([][]float32, L)
	maxd := 0
	for k := 0; k <= L; k++ {
		maxd = max(maxd, m.Sizes[k])
	}
	mm := 2 * phases * maxN
	for k := 0; k < L; k++ {
		pg.a[k] = make([]float32, m.Sizes[k+1]*mm)
		pg.b[k] = make([]float32, mm*m.Sizes[k])
	}
	pg.tmp = make([][]float32, phases)
	pg.bias = make([][][]float32, phases)
	pg.energy = make([][]float64, phases)
	pg.xw = make([][]float32, phases)
	for p := 0; p < phases; p++ {
		pg.tmp[p] = make([]float32, maxN*maxd)
		pg.bias[p] = make([][]float32, L)
		for k := 0; k < L; k++ {
			pg.bias[p][k] = make([]float32, m.Sizes[k+1])
		}
		pg.energy[p] = make([]float64, maxN)
		pg.xw[p] = make([]float32, maxN*m.Sizes[1])
	}
	pg.signs = make([]float32, phases)
	pg.zs = make([]*lrrn.States, phases)
	pg.x = make([][]float32, phases)
	pg.n = make([]int, phases)
	return pg
}

// setPhase sets phase p of the current batch: its n inputs x (n × d_0),
// their states and the phase's sign. coef is the factor common to all
// phases.
func (pg *paramGrad) setPhase(p int, x []float32, n int, st *lrrn.States, sign, coef float32) {
	pg.x[p], pg.n[p], pg.zs[p], pg.signs[p], pg.coef = x, n, st, sign, coef
}

// width returns m, the number of stacked columns of layer k, and whether
// layer k's r-block is the merged one.
func (pg *paramGrad) width(k int) (m int, merged bool) {
	hasS := 0
	if pg.m.Beta[k] != 0 {
		hasS = 1
	}
	if k == 0 && pg.merged {
		return pg.n[0] * (1 + pg.phases*hasS), true
	}
	for p := 0; p < pg.phases; p++ {
		m += pg.n[p] * (1 + hasS)
	}
	return m, false
}

// slots returns the column offsets of phase p's r-block and s-block in
// layer k (sOff = −1 without an s-block).
func (pg *paramGrad) slots(k, p int) (rOff, sOff int) {
	if k == 0 && pg.merged {
		n := pg.n[0]
		return 0, n + p*n
	}
	hasS := 0
	if pg.m.Beta[k] != 0 {
		hasS = 1
	}
	for q := 0; q < p; q++ {
		rOff += pg.n[q] * (1 + hasS)
	}
	if hasS == 0 {
		return rOff, -1
	}
	return rOff, rOff + pg.n[p]
}

func layerOf(x []float32, st *lrrn.States, k int) []float32 {
	if k == 0 {
		return x
	}
	return st.Z[k]
}

// preparePhase computes phase p's residuals, energies and its blocks of
// A and B.
func (pg *paramGrad) preparePhase(p int) {
	m := pg.m
	n := pg.n[p]
	st := pg.zs[p]
	sign := pg.signs[p]
	L := m.L()
	en := pg.energy[p][:n]
	clear(en)
	gk := 1.0
	for k := 0; k < L; k++ {
		du, dl := m.Sizes[k+1], m.Sizes[k]
		beta := m.Beta[k]
		mw, merged := pg.width(k)
		rOff, sOff := pg.slots(k, p)
		zl, zu := layerOf(pg.x[p], st, k), st.Z[k+1]
		W, bk := m.W[k], m.B[k]
		A, B := pg.a[k], pg.b[k]
		scale := -pg.coef * sign * float32(gk)
		// r = z_{k+1} − W z_k − b (n × du)
		r := pg.tmp[p][:n*du]
		if k == 0 {
			r = pg.xw[p][:n*du]
		}
		asm.GemmNT(r, zl[:n*dl], W, n, dl, du, false)
		bias := pg.bias[p][k]
		clear(bias)
		for i := 0; i < n; i++ {
			ri, ui := r[i*du:i*du+du], zu[i*du:i*du+du]
			var rr float64
			for j := range ri {
				v := ui[j] - ri[j] - bk[j]
				ri[j] = v
				rr += float64(v) * float64(v)
				bias[j] += v
			}
			en[i] += gk * 0.5 * rr
		}
		for j := range bias {
			bias[j] *= scale
		}
		if !merged {
			for i := 0; i < n; i++ {
				ri := r[i*du : i*du+du]
				col := rOff + i
				for j, v := range ri {
					A[j*mw+col] = scale * v
				}
			}
			copy(B[rOff*dl:(rOff+n)*dl], zl[:n*dl])
		} else if p == 0 {
			copy(B[:n*dl], zl[:n*dl])
		}
		if beta != 0 {
			// s = z_k − Wᵀ z_{k+1} (n × dl), straight into B's rows
			s := B[sOff*dl : (sOff+n)*dl]
			asm.Gemm(s, zu[:n*du], W, n, du, dl, false)
			sb := scale * float32(beta)
			for i := 0; i < n; i++ {
				si, li := s[i*dl:i*dl+dl], zl[i*dl:i*dl+dl]
				var ss float64
				for j := range si {
					v := li[j] - si[j]
					si[j] = v
					ss += float64(v) * float64(v)
				}
				en[i] += gk * 0.5 * beta * ss
				ui := zu[i*du : i*du+du]
				col := sOff + i
				for j, v := range ui {
					A[j*mw+col] = sb * v
				}
			}
		}
		gk *= m.Gamma
	}
}

// accumulate adds rows [lo, hi) of every layer's gradient (as fractions
// part/parts of each layer's rows) into g, after every phase is prepared.
func (pg *paramGrad) accumulate(g *gradient, part, parts int) {
	m := pg.m
	n := pg.n[0]
	for k := 0; k < m.L(); k++ {
		du, dl := m.Sizes[k+1], m.Sizes[k]
		lo, hi := part*du/parts, (part+1)*du/parts
		if lo == hi {
			continue
		}
		mw, merged := pg.width(k)
		A := pg.a[k]
		gb := g.B[k]
		if merged {
			// column block 0: −coef Σ_p sign_p z_{p,1}ᵀ, rows lo … hi
			for i := 0; i < n; i++ {
				for j := lo; j < hi; j++ {
					var v float32
					for p := 0; p < pg.phases; p++ {
						v += pg.signs[p] * pg.zs[p].Z[1][i*du+j]
					}
					v *= -pg.coef
					A[j*mw+i] = v
					gb[j] += v
				}
			}
		} else {
			for p := 0; p < pg.phases; p++ {
				b := pg.bias[p][k]
				for j := lo; j < hi; j++ {
					gb[j] += b[j]
				}
			}
		}
		asm.Gemm(g.W[k][lo*dl:hi*dl], A[lo*mw:hi*mw], pg.b[k][:mw*dl], hi-lo, mw, dl, true)
	}
}

// finite reports whether every energy of the batch is finite.
func (pg *paramGrad) finite() bool {
	for p := 0; p < pg.phases; p++ {
		for _, e := range pg.energy[p][:pg.n[p]] {
			if math.IsNaN(e) || math.IsInf(e, 0) {
				return false
			}
		}
	}
	return true
}
