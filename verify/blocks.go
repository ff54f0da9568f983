package verify

import (
	"math"

	"github.com/lrrn/lrrn/lrrn"
)

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
	dmax := 0
	for k := 1; k <= c.numK; k++ {
		top := k < c.numK
		d := m.Sizes[k]
		dmax = max(dmax, d)
		bl := block{k: k, d: d, p: 1 + m.Beta[k-1], znFactor: divUp(1, down(1-gamma(d, u32)))}
		bl.lo, bl.hi = m.Acts[k-1].Bounds()
		bl.kind = kindOf(bl.lo, bl.hi)
		bl.setHessian(m, hes.hs[k-1], fro2, top)
		if k >= 2 {
			bl.setLower(m, fro2, maxW)
		}
		bnorm2 := bl.setBias(m)
		epsE := 0.0
		if top {
			epsE = bl.setUpper(m, fro2, maxW, bnorm2)
		}
		bl.finish(epsE)
		c.blocks = append(c.blocks, bl)
	}
	c.zeros = make([]float32, dmax)
}

// kindOf returns the residual loop for the activation set [lo, hi].
func kindOf(lo, hi float32) boxKind {
	switch {
	case math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1):
		return boxLinear
	case lo == 0 && math.IsInf(float64(hi), 1):
		return boxReLU
	}
	return boxGeneral
}

// setHessian rounds Hs_k (hs, float64) to float32 and sets the error
// coefficients of fl32(Ĥz): εH (Hs_k's error in float64 and its rounding
// to float32) plus γ_8‖Ĥ‖_F for the combination (zc), ‖Ĥ‖_F (hF, times
// γ_{nnz(z_k)}) and the underflow term (c0).
func (bl *block) setHessian(m *lrrn.Model, hs, fro2 []float64, top bool) {
	k, d := bl.k, bl.d
	g8 := gamma(8, u64)
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
		mag += m.Gamma * (fro2[k] + m.Beta[k])
	}
	epsH := addUp(mulUp(gamma(mk+8, u64), mag*(1+1e-15)), mulUp(u32, hF))
	bl.zc = addUp(epsH, mulUp(g8, h32F))
	bl.hF = h32F
	bl.c0 = mulUp(float64(d)*math.Sqrt(float64(d))*(1+maxH), tiny32)
}

// setLower sets the term p·W_{k−1}z_{k−1} of block k ≥ 2 (the product
// with z_{k−1} comes from layer k−1's layerProd, through W_{k−1}ᵀ) and
// its error coefficients: p‖W_{k−1}‖_F times γ_8 (lc) and
// γ_{nnz(z_{k−1})} (lF), and the underflow term.
func (bl *block) setLower(m *lrrn.Model, fro2, maxW []float64) {
	k, d := bl.k, bl.d
	g8 := gamma(8, u64)
	dl := m.Sizes[k-1]
	bl.wlT = transpose(m.W[k-1], d, dl)
	bl.lF = mulUp(bl.p*(1+1e-15), sqrtUp(fro2[k-1]))
	bl.lc = mulUp(g8, bl.lF)
	bl.c0 = addUp(bl.c0, mulUp(bl.p*float64(dl)*math.Sqrt(float64(d))*(1+maxW[k-1]), tiny32))
}

// setBias sets e_k = b_{k−1} (the top term's part follows in setUpper) and
// returns ‖b_{k−1}‖² in float64.
func (bl *block) setBias(m *lrrn.Model) float64 {
	bl.e = make([]float64, bl.d)
	var bnorm2 float64
	for i := range bl.e {
		bl.e[i] = float64(m.B[bl.k-1][i])
		bnorm2 += bl.e[i] * bl.e[i]
	}
	return bnorm2
}

// setUpper sets the top term q·W_kᵀz_{k+1} of a block k < K and its error
// coefficients (uc, uF and the underflow term, as setLower's), subtracts
// γW_kᵀb_k from e_k, and returns the bound of e_k's float64 error.
func (bl *block) setUpper(m *lrrn.Model, fro2, maxW []float64, bnorm2 float64) (epsE float64) {
	k, d := bl.k, bl.d
	g, g8 := m.Gamma, gamma(8, u64)
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
	return epsE
}

// finish adds e_k's error epsE and the combination's γ_8‖e_k‖ to c0 and
// applies the safety factor to every coefficient.
func (bl *block) finish(epsE float64) {
	g8 := gamma(8, u64)
	var e2 float64
	for _, v := range bl.e {
		e2 += v * v
	}
	bl.c0 = addUp(bl.c0, addUp(epsE, mulUp(g8, sqrtUp(e2*(1+1e-14)))))
	for _, f := range []*float64{&bl.zc, &bl.hF, &bl.lc, &bl.lF, &bl.uc, &bl.uF, &bl.c0} {
		*f = mulUp(*f, safety)
	}
}

// layerProd multiplies the states of layer j by all the matrices the
// residuals and the output need, concatenated column-wise, in one Gemm.
type layerProd struct {
	b                      []float32 // d_j × width
	width                  int
	hOff, lOff, uOff, oOff int // column offsets of Hs_j, W_jᵀ, W_{j−1}, W_{L−1}ᵀ (−1: absent)
}

// buildProds concatenates, for each layer j = 1 … K, the matrices whose
// products with z_j the evaluation needs: Hs_j (block j's residual), W_jᵀ
// (block j+1's W_j z_j), W_{j−1} (block j−1's W_{j−1}ᵀ z_j) and, in the
// reduced form, W_{L−1}ᵀ (the output) for j = L−1.
func (c *Certifier) buildProds() {
	m := c.m
	c.prods = make([]layerProd, c.numK+1)
	for j := 1; j <= c.numK; j++ {
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
		// the residual's products, unless it is computed in float64
		// (refine.go), which needs only the output's
		if c.ref == nil {
			lp.hOff = add(c.blocks[j-1].h, d)
			if j+1 <= c.numK {
				lp.lOff = add(c.blocks[j].wlT, m.Sizes[j+1])
			}
			if j >= 2 {
				lp.uOff = add(c.blocks[j-2].wu, m.Sizes[j-1])
			}
		}
		if c.reduced && j == c.numK {
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
