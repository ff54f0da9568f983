package verify

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/lrrn"
)

// evaluate computes the certificates of the n inputs whose states are in
// st, given their input parts v and norm bounds xn.
func (c *Certifier) evaluate(sc *scratch, st *lrrn.States, v []float32, xn []float64, labels []int, n int, out []Certificate, passes int, ax []aux) {
	m := c.m
	// The products run over all st.N inputs (a full tile in the
	// certifier, padding included), so that every input's are computed
	// alike whatever n.
	for j := 1; j <= c.K; j++ {
		lp := &c.prods[j]
		d := m.Sizes[j]
		asm.Gemm(sc.prod[j][:st.N*lp.width], st.Z[j][:st.N*d], lp.b, st.N, d, lp.width, false)
	}
	dL := c.dL
	var zn, gn, ek [lrrn.MaxLayers + 2]float64
	var nz [lrrn.MaxLayers + 2]float64 // γ bounds of the products with z_k
	var o [maxOutputsStack]float64
	for j := 0; j < n; j++ {
		cert := &out[j]
		*cert = Certificate{Passes: passes, Pred: -1, Label: -1, PairRadius: math.NaN(), StateError: math.Inf(1)}
		if math.IsNaN(xn[j]) {
			continue
		}
		feasible := true
		for bi := range c.blocks {
			b := &c.blocks[bi]
			k, d := b.k, b.d
			z := st.Z[k][j*d : j*d+d]
			pk := &c.prods[k]
			h := sc.prod[k][j*pk.width+pk.hOff : j*pk.width+pk.hOff+d]
			var gs, zs float64
			// chk sums the gradient before the min-norm cancellation: a
			// float32 product that overflowed (±Inf, NaN) makes it
			// non-finite. The rounding bounds do not cover overflow, and
			// the cancellation at a bound would hide it: abstain.
			var chk float64
			var cnt uint32
			lo, hi := b.lo, b.hi
			e := b.e[:d]
			var l []float32
			if k == 1 {
				l = v[j*c.d1 : j*c.d1+d]
			} else {
				pl := &c.prods[k-1]
				l = sc.prod[k-1][j*pl.width+pl.lOff : j*pl.width+pl.lOff+d]
			}
			var u []float32
			q := b.q
			if q != 0 {
				pu := &c.prods[k+1]
				u = sc.prod[k+1][j*pu.width+pu.uOff : j*pu.width+pu.uOff+d]
			} else {
				u = h // any slice of length d; multiplied by q = 0
			}
			p := b.p
			h, l, e, u = h[:len(z)], l[:len(z)], e[:len(z)], u[:len(z)]
			// The min-norm element of ∇E + N_C: at a bound, the part of the
			// gradient pointing out of the box is cancelled. z̃ must lie in
			// the box (the solver clamps); a NaN makes gs NaN and abstains.
			switch b.kind {
			case boxLinear:
				for i, zi := range z {
					g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
					gs += g * g
					bz := math.Float32bits(zi) << 1
					cnt += (bz | -bz) >> 31
				}
			case boxReLU: // lo = 0, hi = +∞: branch-free
				var neg uint32
				if q == 0 { // no top term
					for i, zi := range z {
						bz := math.Float32bits(zi)
						mag := bz << 1
						nonzero := (mag | -mag) >> 31
						neg |= bz >> 31 & nonzero
						g := float64(h[i]) - p*float64(l[i]) - e[i]
						chk += g
						gb := math.Float64bits(g)
						kill := uint64(nonzero^1) & (^gb >> 63)
						gb &^= -kill
						g = math.Float64frombits(gb)
						gs += g * g
						cnt += nonzero
					}
					if neg != 0 {
						feasible = false
					}
					break
				}
				for i, zi := range z {
					bz := math.Float32bits(zi)
					mag := bz << 1
					nonzero := (mag | -mag) >> 31
					neg |= bz >> 31 & nonzero // a negative value: infeasible
					g := float64(h[i]) - p*float64(l[i]) - e[i] - q*float64(u[i])
					chk += g
					gb := math.Float64bits(g)
					kill := uint64(nonzero^1) & (^gb >> 63) // at 0 with g ≥ 0
					gb &^= -kill
					g = math.Float64frombits(gb)
					gs += g * g
					cnt += nonzero
				}
				if neg != 0 {
					feasible = false
				}
			default:
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
					bz := math.Float32bits(zi) << 1
					cnt += (bz | -bz) >> 31
				}
				if !(zmin >= lo && zmax <= hi) {
					feasible = false
				}
			}
			if chk-chk != 0 { // ±Inf or NaN (the linear case: gs is already)
				feasible = false
			}
			// ‖z‖² from a float32 dot product of nonnegative terms.
			zs = float64(asm.Dot(z, z))*b.znFactor + float64(d)*tiny32
			zn[k] = math.Sqrt(zs) * relUp
			gn[k] = math.Sqrt(gs) * relUp
			nz[k] = float64(cnt) * c.g32
		}
		// Rounding error bound of each block's computed residual.
		for bi := range c.blocks {
			b := &c.blocks[bi]
			k := b.k
			err := (b.zc+nz[k]*b.hF)*zn[k] + b.c0
			if k == 1 {
				err += b.lc * xn[j]
			} else {
				err += (b.lc + nz[k-1]*b.lF) * zn[k-1]
			}
			if b.q != 0 {
				err += (b.uc + nz[k+1]*b.uF) * zn[k+1]
			}
			ek[k] = err * relUp
		}
		if sc.dbg != nil {
			sc.dbg.gn = append(sc.dbg.gn[:0], gn[1:c.K+1]...)
			sc.dbg.err = append(sc.dbg.err[:0], ek[1:c.K+1]...)
		}
		// State error: the smallest bound over the block scalings.
		E, eErr, res := math.Inf(1), math.Inf(1), math.Inf(1)
		if feasible && c.K > 0 {
			for ti := range c.taus {
				tc := &c.taus[ti]
				var sAll, sRes, sErr float64
				for bi := range c.blocks {
					k := c.blocks[bi].k
					a := gn[k] + ek[k]
					w := tc.w[bi]
					sAll += w * a * a
					sRes += w * gn[k] * gn[k]
					sErr += w * ek[k] * ek[k]
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
		cert.StateError, cert.Residual = E, res
		// Output in float64.
		var outs []float64
		if dL <= len(o) {
			outs = o[:dL]
		} else {
			outs = sc.outBuf(dL)
		}
		var outErr float64
		switch {
		case c.reduced && c.K >= 1:
			po := &c.prods[c.K]
			row := sc.prod[c.K][j*po.width+po.oOff : j*po.width+po.oOff+dL]
			for i := range outs {
				outs[i] = float64(row[i]) + c.bout[i]
			}
			outErr = (c.outA+nz[c.K]*c.outF)*zn[c.K] + c.outB
		case c.reduced:
			row := v[j*c.d1 : j*c.d1+dL]
			for i := range outs {
				outs[i] = float64(row[i]) + c.bout[i]
			}
			outErr = c.outA*xn[j] + c.outB
		default:
			row := st.Z[c.L][j*dL : j*dL+dL]
			var mx float64
			for i := range outs {
				outs[i] = float64(row[i])
				mx = max(mx, math.Abs(outs[i]))
			}
			outErr = 4 * u64 * mx
		}
		pred := 0
		for i := 1; i < dL; i++ {
			if outs[i] > outs[pred] {
				pred = i
			}
		}
		y := pred
		if labels != nil && labels[j] >= 0 {
			y = labels[j]
			cert.LabelGiven = true
		}
		cert.Pred, cert.Label = pred, y
		margin := math.Inf(1)
		lower := math.Inf(1)
		pair := math.Inf(1)
		loss := 0.0
		for i := 0; i < dL; i++ {
			if i == y {
				continue
			}
			mi := outs[y] - outs[i]
			if math.IsNaN(mi) {
				mi = math.Inf(-1)
			}
			margin = min(margin, mi)
			var inf, wdi float64
			if c.reduced {
				wdi = c.pairNorm(y, i)
				inf = wdi * E
				if c.K == 0 {
					inf = 0
				}
			} else {
				inf = math.Sqrt2 * E
			}
			t := (outErr + inf) * relUp
			lo := mi - t - 2*u64*(math.Abs(mi)+t)
			if math.IsNaN(lo) {
				lo = math.Inf(-1)
			}
			if lo < lower {
				lower = lo
				loss = inf
			}
			if c.reduced {
				var r float64
				switch {
				case !(lo > 0):
					r = 0
				case wdi == 0:
					r = math.Inf(1)
				default:
					r = lo / wdi * c.invRhoPre * (1 - 4*u64)
				}
				pair = min(pair, r)
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
		ax[j] = aux{eErr: eErr, loss: loss}
	}
}
