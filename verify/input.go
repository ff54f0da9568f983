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
	c.nzMax = sparseMax(d0)
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

// inputProduct computes v = W_0 x for the n inputs, per input by the
// sparse path (sparseInput) when it has at most nzMax nonzero pixels, else
// by the dense one: per chunk of columns one float32 product for the whole
// tile, whose partial sums are added pairwise by a binary counter over the
// chunks (pairSum). The dense path computes every row of the (padded) tile
// the same way whatever the other rows hold, and the sparse path reads
// input j only, so v_j is a function of x_j alone.
func (c *Certifier) inputProduct(sc *scratch, x []float32, n int, v []float32) {
	d0, d1, C := c.d0, c.d1, c.chunk
	dense := false
	for j := 0; j < n; j++ {
		sc.sparse[j] = c.sparseInput(sc, x[j*d0:j*d0+d0], v[j*d1:j*d1+d1])
		dense = dense || !sc.sparse[j]
	}
	if !dense {
		return
	}
	xc := sc.xc[:n*C]
	size := n * d1
	for ch := 0; ch < c.nchunk; ch++ {
		c0 := ch * C
		w := min(C, d0-c0)
		for j := 0; j < n; j++ {
			dst := xc[j*C : j*C+C]
			copy(dst, x[j*d0+c0:j*d0+c0+w])
			clear(dst[w:])
		}
		asm.Gemm(sc.dense.next(size), xc, c.w0c[ch*d1*C:(ch+1)*d1*C], n, C, d1, false)
		sc.dense.push(size)
	}
	acc := sc.dense.sum(size)
	for j := 0; j < n; j++ {
		if !sc.sparse[j] {
			copy(v[j*d1:j*d1+d1], acc[j*d1:j*d1+d1])
		}
	}
}

// sparseMax returns the most nonzero pixels for which an input of d0
// pixels takes the sparse path of the input part (nzMax): the sparse
// product costs per nonzero pixel about what the tile's dense product
// costs per pixel, plus the scan of the d0 pixels and the per-chunk calls
// (BenchmarkInputPart measures both; the break-even is near … of d0).
func sparseMax(d0 int) int { return d0 * sparseFracNum / sparseFracDen }

const sparseFracNum, sparseFracDen = 1, 2

// sparseInput computes v = W_0 x for one input from its nonzero pixels,
// unless it has more than nzMax of them (then it returns false and leaves
// v alone). Per chunk, the nonzero pixels (in increasing order) give one
// float32 sum per unit, a chain over them in order (asm.SparseAxpy) from
// +0; the chunks' sums are then added pairwise by the binary counter of
// the dense path (pairSum). A zero pixel contributes an exact ±0 to the
// dense sum, so leaving it out changes no rounding: the sum of a chunk
// has at most chunk terms and meets at most chunk roundings, and each term
// at most chunk + depth in all (see buildInput).
func (c *Certifier) sparseInput(sc *scratch, x []float32, v []float32) bool {
	d1, C := c.d1, c.chunk
	idx, val := sc.nzIdx, sc.nzVal
	most := c.nzMax
	k := 0
	for ch := 0; ch < c.nchunk; ch++ {
		xs := x[ch*C : min(ch*C+C, len(x))]
		for p, t := range xs {
			if t != 0 { // NaN and ±Inf are kept: they propagate as in the dense product
				if k == most {
					return false
				}
				idx[k], val[k] = int32(p), t
				k++
			}
		}
		sc.nzEnd[ch] = k
	}
	k0 := 0
	for ch := 0; ch < c.nchunk; ch++ {
		t := sc.sparseSum.next(d1)
		clear(t)
		k1 := sc.nzEnd[ch]
		asm.SparseAxpy(t, c.w0c[ch*d1*C:(ch+1)*d1*C], d1, idx[k0:k1], val[k0:k1])
		sc.sparseSum.push(d1)
		k0 = k1
	}
	copy(v, sc.sparseSum.sum(d1))
	return true
}

// pairSum adds the chunks' partial sums of the input part pairwise: a
// binary counter over the chunks (every partial sum meets at most
// bits.Len(nchunk) additions there), whose levels left over are then
// merged, lowest first. The vectors have `size` elements (a tile's or one
// input's products).
type pairSum struct {
	lev  [][]float32
	used []bool
	tmp  []float32
}

func newPairSum(levels, size int) pairSum {
	p := pairSum{lev: make([][]float32, levels), used: make([]bool, levels), tmp: make([]float32, size)}
	for i := range p.lev {
		p.lev[i] = make([]float32, size)
	}
	return p
}

// next returns the buffer the next chunk's partial sum goes to.
func (p *pairSum) next(size int) []float32 { return p.tmp[:size] }

// push adds the partial sum in next(size) to the counter.
func (p *pairSum) push(size int) {
	t := p.tmp[:size]
	l := 0
	for p.used[l] { // merge equal levels
		asm.Axpy(1, p.lev[l][:size], t)
		p.used[l] = false
		l++
	}
	p.lev[l], p.tmp = p.tmp, p.lev[l]
	p.used[l] = true
}

// sum merges the levels left over and returns the total (a buffer of p,
// valid until the next push), leaving the counter empty.
func (p *pairSum) sum(size int) []float32 {
	var acc []float32
	for l := range p.lev {
		if p.used[l] {
			if acc != nil {
				asm.Axpy(1, acc, p.lev[l][:size])
			}
			acc = p.lev[l][:size]
			p.used[l] = false
		}
	}
	return acc
}
