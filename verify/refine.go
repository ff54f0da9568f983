package verify

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/lrrn"
)

// The residual in float64 (the default; Options.NoRefine turns it off).
//
// Computed from the float32 products of the tile (residual.go), the
// residual of an iterate carries a rounding bound γ_n‖A‖_F‖z‖ per product
// with γ_n = n·2^-24: on the certified-robust models that bound, not the
// residual, is most of the state error (a median 6% of the margin on the
// shipped MNIST model), and passes cannot lower it. residuals64 computes
// every block's gradient in float64 instead, one float64 dot product per
// unit with the row of
//
//	R_k = [Hs_k | −p·W_{k−1} | −q·W_kᵀ]   (W_0 multiplies the input x)
//
// and y = (z_k, z_{k−1}, z_{k+1}) (the float32 states and input, exact in
// float64): g̃_k = R_k y − e_k. Its rounding bound (refBlock) has γ_n of
// float64, 2^29 times smaller, so the state error is the iterate's own
// residual; the rest of the certificate — μ, the block scalings, the
// outputs, the margins — is computed as before.

// refineMaxBytes caps the float64 operators R_k (the largest models would
// need several hundred MiB more); beyond it certificates keep the float32
// residual.
const refineMaxBytes = 256 << 20

// refBlock is block k's float64 residual operator and its error bound:
//
//	‖ĝ_k − g̃_k‖ ≤ cz‖z_k‖ + cy‖y‖ + c0,
//
// cz from Hs_k's formation in float64 (setHessian's εH without the float32
// rounding), cy = γ_{n+4}(‖R̃_k‖_F + p‖W_{k−1}‖_F + q‖W_k‖_F) — the dot
// product (γ_n‖R̃‖_F‖y‖), the subtraction of e_k (u(|R̃y| + |e|)), and
// the entries p·w and q·w, rounded at most three times each (p = 1+β and
// q = γ(1+β) in float64, then the product: γ_3 of the exact p·w, q·w) —
// and c0 from e_k (its formation, u‖e‖) and underflow.
type refBlock struct {
	r          []float64 // d×n, row-major
	n          int       // d_k + d_{k−1} + d_{k+1} (the last without a top term: 0)
	lo, up     int       // offsets of z_{k−1} (x for k = 1) and z_{k+1} in y
	cz, cy, c0 float64
}

// buildRefine builds the float64 operators of every block, unless turned
// off or too large (c.ref stays nil).
func (c *Certifier) buildRefine(hes *hessian, fro2 []float64) {
	if c.opts.NoRefine || c.numK == 0 {
		return
	}
	m := c.m
	total := 0
	for k := 1; k <= c.numK; k++ {
		n := m.Sizes[k] + m.Sizes[k-1]
		if k < c.numK {
			n += m.Sizes[k+1]
		}
		total += 8 * m.Sizes[k] * n
	}
	if total > refineMaxBytes {
		return
	}
	c.ref = make([]refBlock, c.numK+1)
	for bi := range c.blocks {
		b := &c.blocks[bi]
		k, d := b.k, b.d
		dl := m.Sizes[k-1]
		du := 0
		if b.q != 0 {
			du = m.Sizes[k+1]
		}
		rb := refBlock{n: d + dl + du, lo: d, up: d + dl}
		rb.r = make([]float64, d*rb.n)
		hs := hes.hs[k-1]
		var rf2 float64
		for i := 0; i < d; i++ {
			row := rb.r[i*rb.n : (i+1)*rb.n]
			copy(row[:d], hs[i*d:(i+1)*d])
			wl := m.W[k-1][i*dl : (i+1)*dl]
			for p, w := range wl {
				row[d+p] = -b.p * float64(w)
			}
			for r := 0; r < du; r++ { // (W_kᵀ)_{i,r} = W_k[r][i]
				row[d+dl+r] = -b.q * float64(m.W[k][r*d+i])
			}
			for _, v := range row {
				rf2 += v * v
			}
		}
		rF := sqrtUp(mulUp(rf2, 1+gamma(d*rb.n, u64)))
		mag := rF + b.p*(1+1e-15)*sqrtUp(fro2[k-1])
		if du > 0 {
			mag += b.q * (1 + 1e-15) * sqrtUp(fro2[k])
		}
		rb.cy = mulUp(gamma(rb.n+4, u64), mag*(1+1e-14))
		// Hs_k's error as formed in float64 (setHessian).
		mk := m.Sizes[k-1]
		hmag := 1 + m.Beta[k-1]*fro2[k-1]
		if b.q != 0 {
			mk = max(mk, m.Sizes[k+1])
			hmag += m.Gamma * (fro2[k] + m.Beta[k])
		}
		rb.cz = mulUp(gamma(mk+8, u64), hmag*(1+1e-15))
		var e2, maxR float64
		for _, v := range b.e {
			e2 += v * v
		}
		for _, v := range rb.r {
			maxR = max(maxR, math.Abs(v))
		}
		// e_k formed in float64 (setUpper's epsE, recomputed here as its
		// bound: γ_{d_{k+1}+4}(‖b_{k−1}‖ + γ‖W_k‖_F‖b_k‖)), u‖e‖ for the
		// subtraction, and per product an underflow of at most tiny64.
		var bl2, bu2 float64
		for _, v := range m.B[k-1] {
			bl2 += float64(v) * float64(v)
		}
		epsE := 0.0
		if b.q != 0 {
			for _, v := range m.B[k] {
				bu2 += float64(v) * float64(v)
			}
			epsE = mulUp(gamma(m.Sizes[k+1]+4, u64), addUp(sqrtUp(bl2*(1+1e-14)), m.Gamma*sqrtUp(fro2[k])*sqrtUp(bu2*(1+1e-14))*(1+1e-14)))
		}
		rb.c0 = addUp(addUp(epsE, mulUp(gamma(2, u64), sqrtUp(e2*(1+1e-14)))),
			mulUp(float64(rb.n)*math.Sqrt(float64(d))*(1+maxR), tiny64))
		for _, f := range []*float64{&rb.cz, &rb.cy, &rb.c0} {
			*f = mulUp(*f, safety)
		}
		c.ref[k] = rb
	}
}

// gradients64 computes every block's float64 gradient for the n inputs
// of a tile (states st, pixels x) into sc.g64 (per block n×d_k, at
// sc.gOff[k]), one block product per block for the whole tile.
func (c *Certifier) gradients64(sc *scratch, st *lrrn.States, x []float32, n int) {
	m := c.m
	for bi := range c.blocks {
		b := &c.blocks[bi]
		k, d := b.k, b.d
		rb := &c.ref[k]
		N := rb.n
		Y := sc.y64[:n*N]
		for j := 0; j < n; j++ {
			y := Y[j*N : (j+1)*N]
			for i, v := range st.Z[k][j*d : j*d+d] {
				y[i] = float64(v)
			}
			var lo []float32 // z_{k−1}, or for k = 1 the input
			if dl := m.Sizes[k-1]; k == 1 {
				lo = x[j*dl : j*dl+dl]
			} else {
				lo = st.Z[k-1][j*dl : j*dl+dl]
			}
			for i, v := range lo {
				y[rb.lo+i] = float64(v)
			}
			if rb.up < N {
				du := m.Sizes[k+1]
				for i, v := range st.Z[k+1][j*du : j*du+du] {
					y[rb.up+i] = float64(v)
				}
			}
		}
		rb.gradients(Y, n, b.e, sc.g64[sc.gOff[k]:sc.gOff[k]+n*d])
	}
}

// residuals64 is residuals for the gradients of gradients64: for input j
// it fills r.zn, r.gn, r.ek and r.nz (as residuals and roundingErrors do)
// and reports feasibility.
func (c *Certifier) residuals64(sc *scratch, st *lrrn.States, xn float64, j int, r *layerNorms) bool {
	feasible := true
	m := c.m
	// ‖z_k‖ in float64: Σ z² of float32 values (exact products), γ_d.
	for k := 1; k <= c.numK; k++ {
		d := m.Sizes[k]
		var s float64
		for _, v := range st.Z[k][j*d : j*d+d] {
			s += float64(v) * float64(v)
		}
		r.zn[k] = sqrtUp(mulUp(s, 1+gamma(d, u64)))
	}
	r.zn[0] = xn
	for bi := range c.blocks {
		b := &c.blocks[bi]
		k, d := b.k, b.d
		rb := &c.ref[k]
		g := sc.g64[sc.gOff[k]+j*d : sc.gOff[k]+(j+1)*d]
		gs, cnt, ok := minNorm64(b, st.Z[k][j*d:j*d+d], g)
		if !ok {
			feasible = false
		}
		r.gn[k] = math.Sqrt(gs) * relUp
		r.nz[k] = float64(cnt) * c.g32
		yn := r.zn[k] * r.zn[k]
		yn += r.zn[k-1] * r.zn[k-1]
		if rb.up < rb.n {
			yn += r.zn[k+1] * r.zn[k+1]
		}
		r.ek[k] = (rb.cz*r.zn[k] + rb.cy*sqrtUp(yn) + rb.c0) * relUp
	}
	return feasible
}

// gradients sets, for the ni operands y_j (the rows of Y, rb.n each),
// g_j = fl(R̃_k y_j − e) (the rows of G, d = len(e) each): per four rows of
// R̃_k and two operands one asm.Dot4x2, so that R̃_k is read once for all
// the operands (an odd last operand is paired with itself), the last
// d mod 4 rows one chain per operand. Every entry is the same sequence of
// operations whatever the other operands (Dot4x2's lanes are per pair of
// rows), and every order meets the bound γ_n of refBlock.
func (rb *refBlock) gradients(Y []float64, ni int, e, G []float64) {
	n, d := rb.n, len(e)
	i := 0
	for ; i+4 <= d; i += 4 {
		r0, r1, r2, r3 := rb.r[i*n:(i+1)*n], rb.r[(i+1)*n:(i+2)*n], rb.r[(i+2)*n:(i+3)*n], rb.r[(i+3)*n:(i+4)*n]
		for j := 0; j < ni; j += 2 {
			j1 := min(j+1, ni-1)
			s := asm.Dot4x2(r0, r1, r2, r3, Y[j*n:(j+1)*n], Y[j1*n:(j1+1)*n])
			g := G[j*d : (j+1)*d]
			g[i], g[i+1], g[i+2], g[i+3] = s[0]-e[i], s[2]-e[i+1], s[4]-e[i+2], s[6]-e[i+3]
			if j1 != j {
				g = G[j1*d : (j1+1)*d]
				g[i], g[i+1], g[i+2], g[i+3] = s[1]-e[i], s[3]-e[i+1], s[5]-e[i+2], s[7]-e[i+3]
			}
		}
	}
	for ; i < d; i++ {
		row := rb.r[i*n : (i+1)*n]
		for j := 0; j < ni; j++ {
			y := Y[j*n : (j+1)*n]
			var s float64
			for p, v := range row {
				s += v * y[p]
			}
			G[j*d+i] = s - e[i]
		}
	}
}

// minNorm64 is gradTerms.minNorm for a gradient g computed in float64:
// Σ g_i² of the min-norm element of ∇E + N_C at z for block b's box, the
// nonzero entries of z, and false when z is outside the box or g is not
// finite.
func minNorm64(b *block, z []float32, g []float64) (gs float64, cnt uint32, ok bool) {
	ok = true
	var chk float64
	for i, zi := range z {
		gi := g[i]
		chk += gi
		switch {
		case zi < b.lo || zi > b.hi || zi != zi:
			ok = false
		case zi == b.lo:
			gi = min(gi, 0)
		case zi == b.hi:
			gi = max(gi, 0)
		}
		gs += gi * gi
		cnt += nonzero(zi)
	}
	if chk-chk != 0 {
		ok = false
	}
	return gs, cnt, ok
}
