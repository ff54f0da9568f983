package verify

import (
	"math"
)

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

// maxOutputsStack is the number of classes whose outputs fit in a stack
// buffer; wider outputs use a scratch slice.
const maxOutputsStack = 256

func (sc *scratch) outBuf(d int) []float64 {
	if cap(sc.wide) < d { // never for models with ≤ 256 classes
		sc.wide = make([]float64, d)
	}
	return sc.wide[:d]
}
