package verify

import (
	"math"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify/attack"
)

// exactProblem is the soundness tests' reference: the exact model of
// verify/attack (float64 minimiser by BCD to convergence and active-set
// Newton polish, with a bound on its error; its Hessian is checked there
// against the gradient written from the energy's definition), with the
// short names these tests use.
type exactProblem struct {
	*attack.Exact
	m      *lrrn.Model
	K, N   int
	offs   []int
	lo, hi []float64
	lamMin float64
	pair   float64 // max_{y≠j} ‖∂(o_y − o_j)/∂z‖ (0 when K = 0)
	dirF   float64 // ‖∂o/∂z‖_F ≥ ‖∂o/∂z‖₂ (0 when K = 0)
}

func newExact(m *lrrn.Model) *exactProblem {
	e, err := attack.NewExact(m)
	if err != nil {
		panic(err)
	}
	p := &exactProblem{Exact: e, m: m, K: e.Blocks(), N: e.Size(), lamMin: e.LamMin()}
	for k := 1; k <= p.K+1; k++ {
		p.offs = append(p.offs, e.Offset(k))
	}
	p.offs = append([]int{0}, p.offs...)
	p.lo, p.hi = e.Bounds()
	if p.K > 0 {
		dL := m.Sizes[m.L()]
		dirs := make([][]float64, dL) // once each: dL² pairs (3000 classes in TestManyClasses)
		var f2 float64
		for y := range dirs {
			dirs[y] = e.OutputDir(y)
			for _, a := range dirs[y] {
				f2 += a * a
			}
		}
		p.dirF = math.Sqrt(f2)
		for y, ay := range dirs {
			for _, aj := range dirs[y+1:] {
				var s float64
				for i, a := range aj {
					s += (ay[i] - a) * (ay[i] - a)
				}
				p.pair = max(p.pair, math.Sqrt(s))
			}
		}
	}
	return p
}

// marginTol bounds |m̂ − m*|, the distance between a margin
// m̂ = min_{j≠y} fl(o_y − o_j) that the tests compute from the reference's
// minimiser z for input x (o = p.output(x, z), in float64) and the exact
// model's margin m* at its exact minimiser z*, for any label y; acc bounds
// ‖z − z*‖ as p.solve returns it (attack.Exact.Solve; its own float64
// rounding of the residual is taken as that bound states it).
//
//   - State: o_y − o_j is affine in z with gradient norm ≤ p.pair, so each
//     difference, and their minimum, moves by at most p.pair·acc.
//   - Rounding: an eliminated output o_j = b_j + Σ_{i<n} w_ji·v_i (v the
//     block L−1 of z, or x when L = 1) is a sum of n+1 terms, so
//     |fl(o_j) − o_j| ≤ γ_{n+1}·A_j with A_j = |b_j| + Σ_i |w_ji·v_i|
//     (γ_k = k·u/(1−k·u), u = 2⁻⁵³, any summation order). The difference
//     rounds once more, (1+γ_{n+1})(1+u) ≤ 1+γ_{n+2}, so
//     |fl(o_y − o_j) − (o_y − o_j)| ≤ γ_{n+2}·(A_y + A_j) ≤ 2γ_{n+2}·max A;
//     taking the minimum is exact. When the output is the block z_L itself
//     (not eliminated) o_j is exact, n = 0 and A_j = |o_j|. Products that
//     underflow (or are flushed to zero) add at most tiny64 each: (n+2)·tiny64
//     per output, twice.
//   - This bound is itself computed in float64 from nonnegative terms:
//     p.pair (N-term sum of squares and a square root) and A_j (n+1
//     terms) are each within γ_{max(n,N)+3} of their exact values, and
//     the few operations combining them add at most 3 more, so one factor
//     1+γ_{max(n,N)+6} makes the result an upper bound.
func (p *exactProblem) marginTol(x, z []float64, acc float64) float64 {
	n, mx := p.outputRound(x, z)
	tol := 2*gamma(n+2, u64)*mx + 2*float64(n+2)*tiny64
	if p.pair > 0 { // else the margin does not depend on z (and acc may be +Inf)
		tol += p.pair * acc
	}
	return tol * (1 + gamma(max(n, p.N)+6, u64))
}

// outputRound returns, for the output o = p.output(x, z), the number n of
// products in each eliminated output's sum (0 when the output is the block
// z_L itself) and max_j A_j, A_j = |b_j| + Σ_i |w_ji·v_i| (|o_j| when not
// eliminated): |fl(o_j) − o_j| ≤ γ_{n+1}·A_j + (n+1)·tiny64 (marginTol).
func (p *exactProblem) outputRound(x, z []float64) (int, float64) {
	m := p.m
	L := m.L()
	if p.K == L {
		var mx float64
		for _, a := range z[p.offs[L]:p.offs[L+1]] {
			mx = max(mx, math.Abs(a))
		}
		return 0, mx
	}
	v := x
	if L > 1 {
		v = z[p.offs[L-1]:p.offs[L]]
	}
	n := len(v)
	var mx float64
	for j := range m.Sizes[L] {
		a := math.Abs(float64(m.B[L-1][j]))
		for i, w := range m.W[L-1][j*n : j*n+n] {
			a += math.Abs(float64(w) * v[i])
		}
		mx = max(mx, a)
	}
	return n, mx
}

// outputErr bounds ‖ô − o*‖₂, the distance between the output
// ô = p.output(x, z) computed from the reference's minimiser z (in float64)
// and the exact model's output o* at its exact minimiser z*, with acc
// bounding ‖z − z*‖ as for marginTol.
//
//   - State: o is affine in z with Jacobian D (rows p.outputDir(u)), so
//     ‖o(z) − o(z*)‖ ≤ ‖D‖₂·acc ≤ ‖D‖_F·acc = p.dirF·acc.
//   - Rounding: each of the d_L outputs is within γ_{n+1}·A_j +
//     (n+1)·tiny64 of o_j(z) (outputRound), so the vector within √d_L times
//     the largest.
//   - Computing this bound: p.dirF (a sum of N·d_L squares and a square
//     root) and A_j (n+1 terms) are within γ_{max(n,N·d_L)+3} of their
//     values, and at most 5 more operations combine them: one factor
//     1+γ_{max(n,N·d_L)+8} makes the result an upper bound.
func (p *exactProblem) outputErr(x, z []float64, acc float64) float64 {
	n, mx := p.outputRound(x, z)
	dL := p.m.Sizes[p.m.L()]
	e := math.Sqrt(float64(dL)) * (gamma(n+1, u64)*mx + float64(n+1)*tiny64)
	if p.dirF > 0 { // else the output does not depend on z (and acc may be +Inf)
		e += p.dirF * acc
	}
	return e * (1 + gamma(max(n, p.N*dL)+8, u64))
}

// solve returns the minimiser for x (warm-started) and its error bound.
func (p *exactProblem) solve(x, warm []float64) ([]float64, float64) { return p.Solve(x, warm) }

// output returns the exact output for the free state z.
func (p *exactProblem) output(x, z []float64) []float64 { return p.Output(x, z) }

// grad returns ∂E/∂z from the energy's definition.
func (p *exactProblem) grad(x, z []float64) []float64 { return p.Gradient(x, z) }

// outputDir returns a with aᵀz = o_i − (bias).
func (p *exactProblem) outputDir(i int) []float64 { return p.OutputDir(i) }

// face returns the minimiser's face at z, for input derivatives (gradX).
func (p *exactProblem) face(z []float64) face { return face{p.Face(z)} }

type face struct{ *attack.Face }

// gradX returns ∂(aᵀz)/∂x on the face.
func (f face) gradX(a []float64) []float64 { return f.GradX(a) }

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
