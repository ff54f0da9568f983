package verify

import (
	"math"

	"github.com/lrrn/lrrn/lrrn"
)

// buildOutput precomputes the output map of the reduced form and the
// error of the output differences.
func (c *Certifier) buildOutput(maxW []float64) {
	m := c.m
	L, dL := c.numL, c.dL
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
	if c.numK == 0 {
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

// pairNormDirect computes pairNorm's bound: the float64 norm of the
// difference of the float32 rows, rounded up by wdScale.
func (c *Certifier) pairNormDirect(y, j int) float64 {
	n := c.m.Sizes[c.numL-1]
	var s float64
	a, b := c.wout[y*n:y*n+n], c.wout[j*n:j*n+n]
	for p := range a {
		d := float64(a[p]) - float64(b[p])
		s += d * d
	}
	return sqrtUp(mulUp(s, c.wdScale))
}

// maxOutputsStack is the number of classes whose outputs fit in a stack
// buffer; wider outputs use a scratch slice.
const maxOutputsStack = 256

// outBuf returns a buffer for the d outputs of a model with more than
// maxOutputsStack classes.
func (sc *scratch) outBuf(d int) []float64 {
	if cap(sc.wide) < d { // never for models with ≤ 256 classes
		sc.wide = make([]float64, d)
	}
	return sc.wide[:d]
}

// outputs computes the iterate's outputs of input j in float64 into outs
// and returns a bound of the rounding error of their differences: in the
// reduced form o = fl32(W_{L−1}z̃_{L−1}) + b_{L−1} (the input part v when
// K = 0), with buildOutput's bound; otherwise z̃_L itself, exact in
// float64, whose differences round by at most 4u₆₄ max|o_i|.
func (c *Certifier) outputs(sc *scratch, st *lrrn.States, v []float32, j int, xn float64, r *layerNorms, outs []float64) float64 {
	dL := c.dL
	switch {
	case c.reduced && c.numK >= 1:
		row := c.prodRow(sc, c.numK, j, c.prods[c.numK].oOff, dL)
		for i := range outs {
			outs[i] = float64(row[i]) + c.bout[i]
		}
		return (c.outA+r.nz[c.numK]*c.outF)*r.zn[c.numK] + c.outB
	case c.reduced:
		row := v[j*c.d1 : j*c.d1+dL]
		for i := range outs {
			outs[i] = float64(row[i]) + c.bout[i]
		}
		return c.outA*xn + c.outB
	default:
		row := st.Z[c.numL][j*dL : j*dL+dL]
		var mx float64
		for i := range outs {
			outs[i] = float64(row[i])
			mx = max(mx, math.Abs(outs[i]))
		}
		return 4 * u64 * mx
	}
}

// classify sets cert's prediction (the first largest output) and the class
// it is about, label when one is given (≥ 0), else the prediction; it
// returns that class.
func classify(cert *Certificate, outs []float64, label int) int {
	pred := 0
	for i := 1; i < len(outs); i++ {
		if outs[i] > outs[pred] {
			pred = i
		}
	}
	y := pred
	if label >= 0 {
		y = label
		cert.LabelGiven = true
	}
	cert.Pred, cert.Label = pred, y
	return y
}

// margins sets cert's Margin, MarginLower, Certified and radii for class y
// from the outputs, their rounding bound outErr and the state error E
// (docs/math.md, "Margins"). It returns the margin lost to E at the
// binding class pair (aux.loss).
func (c *Certifier) margins(cert *Certificate, outs []float64, outErr, E float64, y int) (loss float64) {
	margin := math.Inf(1)
	lower := math.Inf(1)
	pair := math.Inf(1)
	for i := range outs {
		if i == y {
			continue
		}
		mi := outs[y] - outs[i]
		if math.IsNaN(mi) {
			mi = math.Inf(-1)
		}
		margin = min(margin, mi)
		lo, inf, wdi := c.pairLower(mi, outErr, E, y, i)
		if lo < lower {
			lower = lo
			loss = inf
		}
		if c.reduced {
			pair = min(pair, c.pairRadius(lo, wdi))
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
	return loss
}

// pairLower returns a lower bound of the exact model's output difference
// ž_L[y] − ž_L[i], from the iterate's mi: mi minus the rounding bound
// outErr and the state error's effect inf — ‖w_y − w_i‖·E in the reduced
// form (wdi the bound of ‖w_y − w_i‖), √2·E otherwise — with the rounding
// of these operations.
func (c *Certifier) pairLower(mi, outErr, E float64, y, i int) (lo, inf, wdi float64) {
	if c.reduced {
		wdi = c.pairNorm(y, i)
		inf = wdi * E
		if c.numK == 0 {
			inf = 0
		}
	} else {
		inf = math.Sqrt2 * E
	}
	t := (outErr + inf) * relUp
	lo = mi - t - 2*u64*(math.Abs(mi)+t)
	if math.IsNaN(lo) {
		lo = math.Inf(-1)
	}
	return lo, inf, wdi
}

// pairRadius returns the certified radius of the class pair whose
// difference is at least lo: lo/(‖w_y − w_i‖·RhoPre), rounded down (reduced
// form).
func (c *Certifier) pairRadius(lo, wdi float64) float64 {
	switch {
	case !(lo > 0):
		return 0
	case wdi == 0:
		return math.Inf(1)
	default:
		return lo / wdi * c.invRhoPre * (1 - 4*u64)
	}
}
