package lrrn

import (
	"fmt"
	"sync"
)

// wtzPool holds the float64 scratch (one layer wide) of energy, so that
// evaluating E per example does not allocate.
var wtzPool sync.Pool

// Energy returns E(z; x) of docs/math.md, accumulated in float64:
//
//	E = Σ_k γ^k [ ½‖z_{k+1} − W_k z_k − b_k‖² + (β_k/2)‖z_k − W_kᵀ z_{k+1}‖² ]
//
// z holds the layers: z[0] is ignored (x is used instead), z[k] has d_k
// entries for k = 1 … L. Constraints are not checked here.
func (m *Model) Energy(x []float32, z [][]float32) float64 {
	return m.energy(x, z, nil)
}

// EnergyGrad returns E(z; x) and writes ∂E/∂z_k into g[k] (d_k float64
// values) for k = 1 … L; g[0] is ignored. All arithmetic is float64.
func (m *Model) EnergyGrad(x []float32, z [][]float32, g [][]float64) float64 {
	for k := 1; k <= m.L(); k++ {
		clear(g[k][:m.Sizes[k]])
	}
	return m.energy(x, z, g)
}

func (m *Model) checkState(x []float32, z [][]float32) {
	if len(x) != m.Sizes[0] || len(z) != m.L()+1 {
		panic(fmt.Sprintf("lrrn: state has %d layers and input %d values, want %d and %d", len(z), len(x), m.L()+1, m.Sizes[0]))
	}
	for k := 1; k <= m.L(); k++ {
		if len(z[k]) != m.Sizes[k] {
			panic(fmt.Sprintf("lrrn: layer %d has %d values, want %d", k, len(z[k]), m.Sizes[k]))
		}
	}
}

// energy computes E and, when g is not nil, adds ∂E/∂z_k into g[k].
func (m *Model) energy(x []float32, z [][]float32, g [][]float64) float64 {
	m.checkState(x, z)
	L := m.L()
	maxd := 0
	for _, d := range m.Sizes[:L] {
		maxd = max(maxd, d)
	}
	bufp, _ := wtzPool.Get().(*[]float64)
	if bufp == nil || cap(*bufp) < maxd {
		b := make([]float64, maxd)
		bufp = &b
	}
	defer wtzPool.Put(bufp)
	scratch := (*bufp)[:maxd]
	var e float64
	gk := 1.0 // γ^k
	for k := 0; k < L; k++ {
		lower := x
		if k > 0 {
			lower = z[k]
		}
		upper := z[k+1]
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		W, b := m.W[k], m.B[k]
		beta := m.Beta[k]
		// r = z_{k+1} − W z_k − b (rows); s = z_k − Wᵀ z_{k+1} (cols)
		var rr, ss float64
		// Wᵀ z_{k+1} accumulates column by column in the scratch.
		wtz := scratch[:cols]
		clear(wtz)
		for i := 0; i < rows; i++ {
			row := W[i*cols : i*cols+cols]
			var wz float64
			ui := float64(upper[i])
			for j, w := range row {
				wz += float64(w) * float64(lower[j])
				wtz[j] += float64(w) * ui
			}
			r := ui - wz - float64(b[i])
			rr += r * r
			if g != nil {
				g[k+1][i] += gk * r // ∂/∂z_{k+1} of ½‖r‖²
				if k > 0 {
					for j, w := range row { // −Wᵀ r into z_k
						g[k][j] -= gk * float64(w) * r
					}
				}
			}
		}
		if beta != 0 {
			for j := 0; j < cols; j++ {
				s := float64(lower[j]) - wtz[j]
				ss += s * s
				wtz[j] = s
			}
			if g != nil {
				// ∂/∂z_k of (β/2)‖s‖² = β s ; ∂/∂z_{k+1} = −β W s
				for i := 0; i < rows; i++ {
					row := W[i*cols : i*cols+cols]
					var ws float64
					for j, w := range row {
						ws += float64(w) * wtz[j]
					}
					g[k+1][i] -= gk * beta * ws
				}
				if k > 0 {
					for j := 0; j < cols; j++ {
						g[k][j] += gk * beta * wtz[j]
					}
				}
			}
		}
		e += gk * (0.5*rr + 0.5*beta*ss)
		gk *= m.Gamma
	}
	return e
}

// HessianBlock returns the diagonal block H_k of the energy's Hessian
// divided by γ^{k−1} (docs/math.md, "Gradient and block structure"), as a
// d_k×d_k row-major float64 matrix:
//
//	H_k/γ^{k−1} = I + β_{k−1}W_{k−1}W_{k−1}ᵀ + [top] γ(W_kᵀW_k + β_k I)
//
// top says whether the term k (z_{k+1} regressed from z_k) belongs to the
// problem: false for the output block L, and for block L−1 of the free
// problem when the output is eliminated (ReducedOutput). The Gram products
// of the float32 weights are summed in float64 (linalg.Gram). This is the
// one float64 builder of the blocks: NewSolver rounds its result to
// float32, NewSolverHessians hands it to verify's bounds, and the exact
// reference of verify/attack uses it — the same bits everywhere. k must
// be 1 … L (top only for k < L).
func (m *Model) HessianBlock(k int, top bool) []float64 {
	return m.hessianBlock(k, top, &gramCache{m: m})
}

// hessianBlock is HessianBlock with the Gram products taken from gc (the
// solver computes each once for its free and clamped problems).
func (m *Model) hessianBlock(k int, top bool, gc *gramCache) []float64 {
	d := m.Sizes[k]
	H := make([]float64, d*d)
	if betaL := m.Beta[k-1]; betaL != 0 {
		G := gc.rowGram(k - 1) // W_{k−1}W_{k−1}ᵀ
		for i, v := range G {
			H[i] = betaL * v
		}
	}
	for i := 0; i < d; i++ {
		H[i*d+i] += 1
	}
	if top {
		g, betaU := m.Gamma, m.Beta[k]
		G := gc.colGram(k) // W_kᵀW_k
		for i, v := range G {
			H[i] += g * v
		}
		for i := 0; i < d; i++ {
			H[i*d+i] += g * betaU
		}
	}
	return H
}
