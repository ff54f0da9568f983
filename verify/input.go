package verify

import (
	"math"
	"math/bits"

	"github.com/lrrn/lrrn/asm"
)

// inputChunk is the number of input columns of one float32 chunk product
// of W_0 x; the chunks' partial sums are then added pairwise in float32
// (see buildInput), so a term meets at most chunk + depth roundings
// instead of d_0.
const inputChunk = 112

// buildInput packs W_0 in column chunks for the input part v = W_0 x and
// derives its error. Each chunk's product is a float32 dot product of at
// most `chunk` terms; the chunks' partial sums are then added pairwise in
// float32 (a binary counter over the chunks), so every term meets at most
// chunk + depth roundings, depth = bits.Len(nchunk) + bits.OnesCount(nchunk)
// (the counter's levels, then the merge of the levels left over). Per unit
// i the error is ≤ γ_{chunk+depth}Σ_p|w_ip x_p| ≤ γ_{chunk+depth}‖w_i‖‖x‖,
// in norm ≤ γ_{chunk+depth}‖W_0‖_F‖x‖ (+ underflow terms), against
// γ_{d_0} for one long float32 dot product.
func (c *Certifier) buildInput(fro2, maxW []float64) {
	m := c.m
	d0, d1 := c.d0, c.d1
	c.chunk = min(inputChunk, d0)
	c.nchunk = (d0 + c.chunk - 1) / c.chunk
	C := c.chunk
	c.w0c = make([]float32, c.nchunk*d1*C)
	for ch := 0; ch < c.nchunk; ch++ {
		blk := c.w0c[ch*d1*C : (ch+1)*d1*C]
		for i := 0; i < d1; i++ {
			for p := 0; p < C; p++ {
				col := ch*C + p
				if col < d0 {
					blk[p*d1+i] = m.W[0][i*d0+col]
				}
			}
		}
	}
	c.levels = bits.Len(uint(c.nchunk)) + 1
	depth := bits.Len(uint(c.nchunk)) + bits.OnesCount(uint(c.nchunk))
	c.vRel = gamma(C+depth, u32)
	c.cv0 = mulUp(2*float64(d0)*math.Sqrt(float64(d1))*(1+maxW[0]), tiny32)
	// ‖x‖² from a float32 dot product of nonnegative terms x_p²: the
	// computed value is ≥ (1−γ_{d0})·(true − d0·tiny32).
	c.xnFactor = divUp(1, down(1-gamma(d0, u32)))
	c.xnAbs = float64(d0) * tiny32
	if c.numK >= 1 {
		b := &c.blocks[0]
		g8 := gamma(8, u64)
		b.lc = mulUp(mulUp(b.p*(1+1e-15), mulUp(addUp(c.vRel, g8), sqrtUp(fro2[0]))), safety)
		b.c0 = addUp(b.c0, mulUp(mulUp(b.p, c.cv0), safety))
	}
}

// inputPart computes v = W_0 x for the n inputs (float32 chunk products
// added pairwise, see buildInput) and a bound on each ‖x‖; it returns the
// first input with a non-finite value (its ‖x‖ bound is NaN), or −1.
func (c *Certifier) inputPart(sc *scratch, x []float32, n int, v []float32, xn []float64) int {
	bad := c.inputNorms(x, n, xn)
	c.inputProduct(sc, x, n, v)
	return bad
}

// inputNorms sets xn[j] to a certified bound of ‖x_j‖ for the n inputs
// (NaN for an input with a non-finite value) and returns the first such
// input, or −1.
func (c *Certifier) inputNorms(x []float32, n int, xn []float64) int {
	d0 := c.d0
	bad := -1
	for j := 0; j < n; j++ {
		xj := x[j*d0 : j*d0+d0]
		s := float64(asm.Dot(xj, xj))
		if math.IsInf(s, 0) || math.IsNaN(s) {
			// float32 overflow or a non-finite value: redo in float64.
			s = 0
			for _, t := range xj {
				s += float64(t) * float64(t)
			}
			s *= 1 + gamma(d0, u64)
			if math.IsInf(s, 0) || math.IsNaN(s) {
				if bad < 0 {
					bad = j
				}
				xn[j] = math.NaN()
				continue
			}
		} else {
			s = s*c.xnFactor + c.xnAbs
		}
		xn[j] = math.Sqrt(s) * relUp
	}
	return bad
}

// inputProduct computes v = W_0 x for the n inputs: per chunk of columns
// one float32 product, whose partial sums are added pairwise by a binary
// counter over the chunks (every partial sum meets at most
// bits.Len(nchunk) additions there), then the levels left over are merged.
func (c *Certifier) inputProduct(sc *scratch, x []float32, n int, v []float32) {
	d0, d1, C := c.d0, c.d1, c.chunk
	xc := sc.xc[:n*C]
	size := n * d1
	tmp := sc.tmp
	for ch := 0; ch < c.nchunk; ch++ {
		c0 := ch * C
		w := min(C, d0-c0)
		for j := 0; j < n; j++ {
			dst := xc[j*C : j*C+C]
			copy(dst, x[j*d0+c0:j*d0+c0+w])
			clear(dst[w:])
		}
		t := tmp[:size]
		asm.Gemm(t, xc, c.w0c[ch*d1*C:(ch+1)*d1*C], n, C, d1, false)
		// Binary counter: merge equal levels.
		l := 0
		for sc.used[l] {
			asm.Axpy(1, sc.lev[l][:size], t)
			sc.used[l] = false
			l++
		}
		sc.lev[l], tmp = tmp, sc.lev[l]
		sc.used[l] = true
	}
	sc.tmp = tmp
	var acc []float32
	for l := range sc.lev {
		if sc.used[l] {
			if acc != nil {
				asm.Axpy(1, acc, sc.lev[l][:size])
			}
			acc = sc.lev[l][:size]
			sc.used[l] = false
		}
	}
	copy(v[:size], acc)
}
