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
