package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/lrrn/lrrn/lrrn"
)

// grader computes the output margins of a model and their input gradients
// at the (inexact) free state by implicit differentiation: with the active
// set of the state fixed (units at a bound of their activation set), the
// free units solve H_FF z_F = c(x), linear in x, so
// dz_F/dx = H_FF⁻¹ (1+β_0) W_0[F∩layer 1] (docs/math.md, "Gradient and
// block structure"). It needs the reduced output (linear, β_{L−1} = 0):
// ž_L = W_{L−1} ž_{L−1} + b_{L−1}.
type grader struct {
	m      *lrrn.Model
	s      *lrrn.Solver
	ws     *lrrn.Workspace
	st     *lrrn.States
	passes int
	off    []int     // offset of layer k (1 … L−1) in the stacked variables
	n      int       // number of stacked variables
	H      []float64 // n×n Hessian of the reduced energy
	x32    []float32
}

func newGrader(m *lrrn.Model, passes int) (*grader, error) {
	if !m.ReducedOutput() {
		return nil, errors.New("the attack needs a linear output with β_{L−1} = 0")
	}
	s, err := lrrn.NewSolver(m)
	if err != nil {
		return nil, err
	}
	L := m.L()
	g := &grader{m: m, s: s, ws: s.NewWorkspace(), st: s.NewStates(1), passes: passes, off: make([]int, L), x32: make([]float32, m.Sizes[0])}
	for k := 1; k < L; k++ {
		g.off[k] = g.n
		g.n += m.Sizes[k]
	}
	n := g.n
	g.H = make([]float64, n*n)
	add := func(r0, c0 int, f func(i, j int) float64, rows, cols int) {
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				g.H[(r0+i)*n+c0+j] += f(i, j)
			}
		}
	}
	for k := 0; k <= L-2; k++ { // term k couples z_k and z_{k+1}
		gk := math.Pow(m.Gamma, float64(k))
		b := m.Beta[k]
		W := m.W[k]
		dk, dk1 := m.Sizes[k], m.Sizes[k+1]
		w := func(i, j int) float64 { return float64(W[i*dk+j]) } // W_k[i][j], i < d_{k+1}
		// z_{k+1} block: γ^k (I + β W Wᵀ)
		add(g.off[k+1], g.off[k+1], func(i, j int) float64 {
			v := 0.0
			if i == j {
				v = 1
			}
			if b != 0 {
				var s float64
				for t := 0; t < dk; t++ {
					s += w(i, t) * w(j, t)
				}
				v += b * s
			}
			return gk * v
		}, dk1, dk1)
		if k == 0 {
			continue
		}
		// z_k block: γ^k (WᵀW + β I); cross blocks −γ^k (1+β) W
		add(g.off[k], g.off[k], func(i, j int) float64 {
			var s float64
			for t := 0; t < dk1; t++ {
				s += w(t, i) * w(t, j)
			}
			if i == j {
				s += b
			}
			return gk * s
		}, dk, dk)
		add(g.off[k+1], g.off[k], func(i, j int) float64 { return -gk * (1 + b) * w(i, j) }, dk1, dk)
		add(g.off[k], g.off[k+1], func(i, j int) float64 { return -gk * (1 + b) * w(j, i) }, dk, dk1)
	}
	return g, nil
}

// eval infers the free state at x and returns the output.
func (g *grader) eval(x []float64) ([]float64, error) {
	for i, v := range x {
		g.x32[i] = float32(v)
	}
	if err := g.s.Free(g.ws, g.x32, 1, g.passes, g.st); err != nil {
		return nil, err
	}
	o := g.st.Output(0)
	out := make([]float64, len(o))
	for i, v := range o {
		out[i] = float64(v)
	}
	return out, nil
}

// gradients returns, at the state of the last eval, the gradients of the
// output differences o_y − o_j (j ≠ y; nil at j = y) with respect to x.
func (g *grader) gradients(y int) ([][]float64, error) {
	m := g.m
	L := m.L()
	var free []int // stacked indices of units not at a bound
	for k := 1; k < L; k++ {
		lo, hi := m.Acts[k-1].Bounds()
		for i, v := range g.st.Layer(k, 0) {
			if v > lo && v < hi {
				free = append(free, g.off[k]+i)
			}
		}
	}
	nf := len(free)
	A := make([]float64, nf*nf)
	for a, i := range free {
		for b, j := range free {
			A[a*nf+b] = g.H[i*g.n+j]
		}
	}
	if err := cholesky(A, nf); err != nil {
		return nil, err
	}
	dOut, dIn := m.Sizes[L], m.Sizes[0]
	WL, dPrev := m.W[L-1], m.Sizes[L-1]
	W0, d1 := m.W[0], m.Sizes[1]
	grads := make([][]float64, dOut)
	v := make([]float64, nf)
	for j := 0; j < dOut; j++ {
		if j == y {
			continue
		}
		for a, i := range free {
			v[a] = 0
			if i >= g.off[L-1] {
				u := i - g.off[L-1]
				v[a] = float64(WL[y*dPrev+u]) - float64(WL[j*dPrev+u])
			}
		}
		cholSolve(A, nf, v)
		gr := make([]float64, dIn)
		for a, i := range free {
			if i >= g.off[1]+d1 {
				break // free is ascending: layer 1 comes first
			}
			c := (1 + m.Beta[0]) * v[a]
			row := W0[i*dIn : (i+1)*dIn]
			for p, w := range row {
				gr[p] += c * float64(w)
			}
		}
		grads[j] = gr
	}
	return grads, nil
}

// cholesky factors the symmetric positive definite a (n×n, row-major) in
// place into its lower triangle.
func cholesky(a []float64, n int) error {
	for j := 0; j < n; j++ {
		s := a[j*n+j]
		for k := 0; k < j; k++ {
			s -= a[j*n+k] * a[j*n+k]
		}
		if !(s > 0) {
			return fmt.Errorf("attack: Hessian not positive definite (pivot %d: %g)", j, s)
		}
		d := math.Sqrt(s)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = s / d
		}
	}
	return nil
}

// cholSolve solves (L Lᵀ) x = b in place with the factor of cholesky.
func cholSolve(l []float64, n int, b []float64) {
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i*n+k] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*n+i] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
}

// deepFool runs the multi-class DeepFool iteration from x0 (label y) inside
// the pixel box [0,1] and returns a point the model (at its passes)
// classifies as another class, or nil after maxIter steps.
func (g *grader) deepFool(x0 []float64, y, maxIter int, overshoot float64) ([]float64, error) {
	x := append([]float64(nil), x0...)
	for it := 0; it < maxIter; it++ {
		o, err := g.eval(x)
		if err != nil {
			return nil, err
		}
		if argmax(o) != y {
			return x, nil
		}
		grads, err := g.gradients(y)
		if err != nil {
			return nil, err
		}
		best, bj, bn := math.Inf(1), -1, 0.0
		for j, gr := range grads {
			if gr == nil {
				continue
			}
			var nn float64
			for _, v := range gr {
				nn += v * v
			}
			nn = math.Sqrt(nn)
			if nn == 0 {
				continue
			}
			if sc := (o[y] - o[j]) / nn; sc < best {
				best, bj, bn = sc, j, nn
			}
		}
		if bj < 0 {
			return nil, nil
		}
		step := (1 + overshoot) * (best + 1e-4) / bn
		for p, v := range grads[bj] {
			x[p] = math.Max(0, math.Min(1, x[p]-step*v))
		}
	}
	return nil, nil
}

func argmax(o []float64) int {
	b := 0
	for i, v := range o {
		if v > o[b] {
			b = i
		}
	}
	return b
}
