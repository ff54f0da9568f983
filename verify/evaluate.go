package verify

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/lrrn"
)

// evaluate computes the certificates of the n inputs whose states are in
// st, given their input parts v, pixels x and norm bounds xn. Per input it follows
// docs/math.md ("How package verify computes its bounds"): the residual of
// every block and its rounding error (residual.go; in float64 unless
// Options.NoRefine, refine.go), the state error
// ‖z̃ − ž‖ over the certified block scalings, then the outputs, the margin
// lower bound and the radii (margins.go).
func (c *Certifier) evaluate(sc *scratch, st *lrrn.States, v, x []float32, xn []float64, labels []int, n int, out []Certificate, passes int, ax []aux) {
	c.products(sc, st)
	if c.ref != nil {
		c.gradients64(sc, st, x, n)
	}
	var r layerNorms
	var o [maxOutputsStack]float64
	for j := 0; j < n; j++ {
		cert := &out[j]
		*cert = Certificate{Passes: passes, Pred: -1, Label: -1, PairRadius: math.NaN(), StateError: math.Inf(1)}
		if math.IsNaN(xn[j]) {
			continue
		}
		var feasible bool
		if c.ref != nil {
			feasible = c.residuals64(sc, st, xn[j], j, &r)
		} else {
			feasible = c.residuals(sc, st, v, j, &r)
			c.roundingErrors(&r, xn[j])
		}
		if sc.dbg != nil {
			sc.dbg.gn = append(sc.dbg.gn[:0], r.gn[1:c.numK+1]...)
			sc.dbg.err = append(sc.dbg.err[:0], r.ek[1:c.numK+1]...)
		}
		E, eErr, res := c.stateError(&r, feasible)
		cert.StateError, cert.Residual = E, res
		var outs []float64
		if c.dL <= len(o) {
			outs = o[:c.dL]
		} else {
			outs = sc.outBuf(c.dL)
		}
		outErr := c.outputs(sc, st, v, j, xn[j], &r, outs)
		label := -1
		if labels != nil {
			label = labels[j]
		}
		y := classify(cert, outs, label)
		ax[j] = aux{eErr: eErr, loss: c.margins(cert, outs, outErr, E, y)}
	}
}

// layerNorms holds, for the input being evaluated, per layer k (index k):
// certified bounds of ‖z_k‖ (zn), of the computed residual's norm ‖ĝ_k‖
// (gn) and of its rounding error (ek), and the factor nnz(z_k)·g32 that
// bounds γ_n of the float32 products with z_k (nz).
type layerNorms struct {
	zn, gn, ek, nz [lrrn.MaxLayers + 2]float64
}

// products runs, per layer j = 1 … K, the one Gemm that multiplies the
// states z_j by every matrix the residuals and the output need (see
// layerProd). The products run over all st.N inputs (a full tile in the
// certifier, padding included), so that every input's are computed alike
// whatever the number of inputs evaluated.
func (c *Certifier) products(sc *scratch, st *lrrn.States) {
	for j := 1; j <= c.numK; j++ {
		lp := &c.prods[j]
		if lp.width == 0 { // nothing to multiply (the float64 residual, no reduced output)
			continue
		}
		d := c.m.Sizes[j]
		asm.Gemm(sc.prod[j][:st.N*lp.width], st.Z[j][:st.N*d], lp.b, st.N, d, lp.width, false)
	}
}

// prodRow returns d columns, from column off on, of the products with
// z_k of input j (see layerProd for the offsets).
func (c *Certifier) prodRow(sc *scratch, k, j, off, d int) []float32 {
	w := c.prods[k].width
	return sc.prod[k][j*w+off : j*w+off+d]
}
