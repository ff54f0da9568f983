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
// γ_{d_0} for one long float32 dot product. The sparse path (see
// inputProduct) sums a chunk over its nonzero pixels only, k ≤ chunk terms
// in a fixed order: the dense sum without its exact ±0 terms, so the same
// γ_{chunk+depth} (Σ_p|w_ip x_p| is the same sum too) holds for it.
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

// inputProduct computes v = W_0 x for the n inputs: per chunk of columns
// a float32 product for the whole tile, whose partial sums are added
// pairwise by a binary counter over the chunks (pairSum). An input with at
// most nzMax nonzero pixels takes the sparse path: its row of a chunk's
// product is a chain over its nonzero pixels of the chunk, in order, from
// +0 (asm.SparseAxpy). The other inputs take the dense path: their rows
// come from one matrix product of the (padded) tile per chunk, which
// computes every row the same way whatever the other rows hold (in a tile
// with both kinds it computes the sparse inputs' rows too, which their
// sparse rows then replace: the price of not compacting the tile). So v_j
// is a function of x_j alone.
//
// Rounding: a zero pixel contributes an exact ±0 to the dense chain, so
// leaving it out changes no rounding; a chunk's chain has at most chunk
// terms either way and meets at most chunk roundings, and each term at
// most chunk + depth in all (buildInput's vRel). NaN and ±Inf count as
// nonzero: they propagate as in the dense product.
func (c *Certifier) inputProduct(sc *scratch, x []float32, n int, v []float32) {
	d0, d1, C, nch := c.d0, c.d1, c.chunk, c.nchunk
	// The nonzero pixels of the sparse inputs, per input and chunk (their
	// positions in the chunk, the rows of its block of w0c): input j's of
	// chunk ch end at nzEnd[j·nchunk+ch] and start where those of the
	// chunk before end, at nzAt[j] for the first. An input's scan stops at
	// the chunk where it passes nzMax, so it writes at most chunk entries
	// past the at most min(nzMax, d0) it keeps (newScratch's sizes).
	dense := false
	at := 0
	for j := 0; j < n; j++ {
		start := at
		ends := sc.nzEnd[j*nch : j*nch+nch]
		xj := x[j*d0 : j*d0+d0]
		sparse := true
		for ch := 0; ch < nch && sparse; ch++ {
			xs := xj[ch*C : min(ch*C+C, d0)]
			at += asm.Nonzeros(sc.nzIdx[at:at+len(xs)], sc.nzVal[at:at+len(xs)], xs)
			ends[ch] = at
			sparse = at-start <= c.nzMax
		}
		if !sparse {
			at = start
		}
		sc.nzAt[j], sc.sparse[j] = start, sparse
		dense = dense || !sparse
	}
	xc := sc.xc[:n*C]
	size := n * d1
	for ch := 0; ch < nch; ch++ {
		c0 := ch * C
		t := sc.sums.next(size)
		wc := c.w0c[ch*d1*C : (ch+1)*d1*C]
		if dense {
			w := min(C, d0-c0)
			for j := 0; j < n; j++ {
				dst := xc[j*C : j*C+C]
				copy(dst, x[j*d0+c0:j*d0+c0+w])
				clear(dst[w:])
			}
			asm.Gemm(t, xc, wc, n, C, d1, false)
		}
		for j := 0; j < n; j++ {
			if !sc.sparse[j] {
				continue
			}
			k0 := sc.nzAt[j]
			if ch > 0 {
				k0 = sc.nzEnd[j*nch+ch-1]
			}
			k1 := sc.nzEnd[j*nch+ch]
			tj := t[j*d1 : j*d1+d1]
			clear(tj)
			asm.SparseAxpy(tj, wc, d1, sc.nzIdx[k0:k1], sc.nzVal[k0:k1])
		}
		sc.sums.push(size)
	}
	copy(v[:size], sc.sums.sum(size))
}

// sparseMax returns the most nonzero pixels for which an input of d0
// pixels takes the sparse path of the input part (nzMax). The dense
// product runs near the FMA peak, reusing each row of W_0ᵀ for four
// inputs; the sparse one loads a row (d1 floats) per nonzero pixel and is
// bound by the loads. BenchmarkInputPart (784-64-64-10, AVX-512, tiles of
// images with a share of nonzero pixels at random places; ns per image,
// sparse against dense path) puts the break-even near 41% of d0: 889
// against 1,072 at 30%, 1,036 against 1,076 at 40%, 1,343 against 1,069
// at 50%. The fixture's MNIST images (141 nonzero pixels in the median,
// 286 at most) take 671 against 1,096 on it; 3/8 of d0 keeps them all on
// the sparse path. An input over the limit has paid for its scan up to the
// chunk where it passed it: up to 130 ns more than the dense path alone
// (40% nonzero), 34 ns for a fully dense one.
func sparseMax(d0 int) int { return d0 * 3 / 8 }

// pairSum adds the chunks' partial sums of the input part pairwise: a
// binary counter over the chunks (every partial sum meets at most
// bits.Len(nchunk) additions there), whose levels left over are then
// merged, lowest first. The vectors have `size` elements (the tile's
// products).
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
