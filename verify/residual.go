package verify

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/lrrn"
)

// The residual bound of docs/math.md ("Inexact inference"): for any
// subgradient g of E + ι_C at the iterate z̃,
//
//	‖z̃_K − ž_K‖ ≤ ‖g‖_{D⁻¹}/(μ√D_K),   ‖g‖²_{D⁻¹} = Σ_k (γ^{k−1}/τ_k)‖g̃_k‖²,
//
// with g̃_k the block gradient in the solver's scaling, computed in
// float64 from float32 products whose rounding error is bounded
// (buildBlocks), and g the min-norm subgradient: at a bound of the box,
// the part of the gradient pointing out of it is dropped.

// residuals computes, for input j, the norm of every block's min-norm
// residual ĝ_k and the bounds of ‖z_k‖ and of the products' γ_n into r. It
// reports false when no state error can be proved: an iterate outside its
// box, or a float32 product that overflowed.
func (c *Certifier) residuals(sc *scratch, st *lrrn.States, v []float32, j int, r *layerNorms) bool {
	feasible := true
	for bi := range c.blocks {
		b := &c.blocks[bi]
		k, d := b.k, b.d
		t := gradTerms{z: st.Z[k][j*d : j*d+d], e: b.e[:d], p: b.p, q: b.q}
		t.h = c.prodRow(sc, k, j, c.prods[k].hOff, d)
		if k == 1 {
			t.l = v[j*c.d1 : j*c.d1+d]
		} else {
			t.l = c.prodRow(sc, k-1, j, c.prods[k-1].lOff, d)
		}
		if b.q != 0 {
			t.u = c.prodRow(sc, k+1, j, c.prods[k+1].uOff, d)
		} else {
			t.u = c.zeros[:d] // q = 0: the top term is exactly +0
		}
		gs, cnt, ok := t.minNorm(b)
		if !ok {
			feasible = false
		}
		// ‖z‖² from a float32 dot product of nonnegative terms.
		zs := float64(asm.Dot(t.z, t.z))*b.znFactor + float64(d)*tiny32
		r.zn[k] = math.Sqrt(zs) * relUp
		r.gn[k] = math.Sqrt(gs) * relUp
		r.nz[k] = float64(cnt) * c.g32
	}
	return feasible
}

// gradTerms are one input's operands of block k's gradient
// g̃_k = h − p·l − e − q·u: h = Hs_k z_k, l = W_{k−1}z_{k−1} (the input
// part v for k = 1), u = W_kᵀz_{k+1} (zero without the top term), all
// float32 products, and e = e_k.
type gradTerms struct {
	z, h, l, u []float32
	e          []float64
	p, q       float64
}

// minNorm returns Σ g_i² of the min-norm element g of ∇E + N_C at z for
// block b's box, the number of nonzero entries of z, and whether the
// residual bounds z: false when z is outside the box (the solver clamps, so
// it must not be) or a gradient entry is ±Inf or NaN — a float32 product
// that overflowed is not covered by the rounding bounds, and the
// cancellation at a bound would hide it. A NaN in z makes the sum NaN.
func (t *gradTerms) minNorm(b *block) (gs float64, cnt uint32, ok bool) {
	var chk float64 // Σ g before the cancellation (the linear case: gs is)
	switch b.kind {
	case boxLinear:
		gs, cnt = t.linear()
		ok = true
	case boxReLU:
		gs, chk, cnt, ok = t.relu()
	default:
		gs, chk, cnt, ok = t.box(b.lo, b.hi)
	}
	if chk-chk != 0 { // ±Inf or NaN
		ok = false
	}
	return gs, cnt, ok
}

// nonzero is 1 when z ≠ 0 (either sign) and 0 otherwise, branch-free.
func nonzero(z float32) uint32 {
	mag := math.Float32bits(z) << 1
	return (mag | -mag) >> 31
}

// linear is minNorm for R^d: no bounds, g is the gradient.
func (t *gradTerms) linear() (gs float64, cnt uint32) {
	z, p, q := t.z, t.p, t.q
	h, l, e, u := t.h[:len(z)], t.l[:len(z)], t.e[:len(z)], t.u[:len(z)]
	for i, zi := range z {
		g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
		gs += g * g
		cnt += nonzero(zi)
	}
	return gs, cnt
}

// relu is minNorm for [0, +∞), branch-free: at z_i = 0 a g_i ≥ 0 is
// dropped; a negative z_i makes the iterate infeasible.
func (t *gradTerms) relu() (gs, chk float64, cnt uint32, feasible bool) {
	z, p, q := t.z, t.p, t.q
	h, l, e, u := t.h[:len(z)], t.l[:len(z)], t.e[:len(z)], t.u[:len(z)]
	var neg uint32
	for i, zi := range z {
		nz := nonzero(zi)
		neg |= math.Float32bits(zi) >> 31 & nz // a negative value: infeasible
		g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
		chk += g
		gb := math.Float64bits(g)
		kill := uint64(nz^1) & (^gb >> 63) // at 0 with g ≥ 0
		gb &^= -kill
		g = math.Float64frombits(gb)
		gs += g * g
		cnt += nz
	}
	return gs, chk, cnt, neg == 0
}

// box is minNorm for [lo, hi]: at lo a g_i > 0 and at hi a g_i < 0 are
// dropped.
func (t *gradTerms) box(lo, hi float32) (gs, chk float64, cnt uint32, feasible bool) {
	z, p, q := t.z, t.p, t.q
	h, l, e, u := t.h[:len(z)], t.l[:len(z)], t.e[:len(z)], t.u[:len(z)]
	zmin, zmax := lo, hi
	for i, zi := range z {
		zmin, zmax = min(zmin, zi), max(zmax, zi)
		g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
		chk += g
		if zi <= lo {
			g = min(g, 0)
		}
		if zi >= hi {
			g = max(g, 0)
		}
		gs += g * g
		cnt += nonzero(zi)
	}
	return gs, chk, cnt, zmin >= lo && zmax <= hi
}

// roundingErrors sets r.ek[k], the bound of the rounding error of block
// k's computed residual, from the coefficients of buildBlocks.
func (c *Certifier) roundingErrors(r *layerNorms, xn float64) {
	for bi := range c.blocks {
		b := &c.blocks[bi]
		k := b.k
		err := (b.zc+r.nz[k]*b.hF)*r.zn[k] + b.c0
		if k == 1 {
			err += b.lc * xn
		} else {
			err += (b.lc + r.nz[k-1]*b.lF) * r.zn[k-1]
		}
		if b.q != 0 {
			err += (b.uc + r.nz[k+1]*b.uF) * r.zn[k+1]
		}
		r.ek[k] = err * relUp
	}
}

// stateError returns the certified bound E of the state error, the
// smallest over the certified block scalings of F·‖(‖ĝ_k‖ + e_k)_k‖_w,
// its rounding part eErr = F·‖(e_k)_k‖_w (the floor more passes do not
// lower) and the residual ‖(‖ĝ_k‖)_k‖_w of the scaling chosen. Without a
// proof (infeasible, no certified scaling, not finite) all three are
// +Inf; without variable blocks (K = 0) they are 0.
func (c *Certifier) stateError(r *layerNorms, feasible bool) (E, eErr, res float64) {
	E, eErr, res = math.Inf(1), math.Inf(1), math.Inf(1)
	if feasible && c.numK > 0 {
		for ti := range c.taus {
			tc := &c.taus[ti]
			var sAll, sRes, sErr float64
			for bi := range c.blocks {
				k := c.blocks[bi].k
				a := r.gn[k] + r.ek[k]
				w := tc.w[bi]
				sAll += w * a * a
				sRes += w * r.gn[k] * r.gn[k]
				sErr += w * r.ek[k] * r.ek[k]
			}
			if e := tc.F * math.Sqrt(sAll) * relUp; e < E {
				E = e
				eErr = tc.F * math.Sqrt(sErr)
				res = math.Sqrt(sRes)
			}
		}
	} else if feasible {
		E, eErr, res = 0, 0, 0
	}
	if math.IsNaN(E) {
		E = math.Inf(1)
	}
	return E, eErr, res
}
