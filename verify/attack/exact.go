package attack

import (
	"fmt"
	"math"
	"slices"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
)

// MaxVariables bounds the number of variable units N of the free problem
// that NewExact accepts: the Hessian is held as a dense N×N float64 matrix
// (4096 units: 128 MB), and every new face of the minimiser costs an
// N³/3 Cholesky factorisation.
const MaxVariables = 4096

// Exact is the exact model: the minimiser of the free problem (docs/math.md)
// for any input, computed in float64 to convergence — block coordinate
// descent with an incrementally updated gradient, polished by active-set
// Newton steps — with a bound on its remaining distance to the true
// minimiser, and derivatives of the minimiser with respect to the input
// by the implicit function theorem on its face.
//
// The free problem has variable blocks z_1 … z_K, stacked into one vector
// of N units: K = L−1 when the output is eliminated (linear output,
// β_{L−1} = 0, lrrn.Config.ReducedOutput), K = L otherwise (the output is
// a block like the others). Its energy is a quadratic with constant
// Hessian H (diagonal blocks γ^{k−1}·lrrn.Model.HessianBlock, off-diagonal
// blocks −γ^k(1+β_k)W_k); the right-hand side comes from Gradient, the
// energy's gradient written from its definition, which the tests check H
// against.
//
// An Exact is read-only after NewExact and safe for concurrent use.
type Exact struct {
	m      *lrrn.Model
	k      int // variable blocks 1 … k
	n      int // variable units
	offs   []int
	h      []float64 // n×n, symmetric
	c0     []float64 // c(0): ∇E(z) = Hz − c(x), c(x) = c0 + (1+β_0)W_0x on block 1
	lo, hi []float64
	lamMin float64
}

// NewExact assembles the free problem's Hessian of m and a lower bound of
// its smallest eigenvalue. It fails for an invalid model or one with more
// than MaxVariables variable units.
func NewExact(m *lrrn.Model) (*Exact, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	e := &Exact{m: m, k: m.L()}
	if m.ReducedOutput() {
		e.k = m.L() - 1
	}
	e.offs = make([]int, e.k+2)
	for k := 1; k <= e.k; k++ {
		e.offs[k+1] = e.offs[k] + m.Sizes[k]
	}
	e.n = e.offs[e.k+1]
	if e.n > MaxVariables {
		return nil, fmt.Errorf("attack: the free problem of a %v model has %d variable units; the exact model holds a dense Hessian for at most %d", m.Sizes, e.n, MaxVariables)
	}
	N := e.n
	for k := 1; k <= e.k; k++ {
		l, h := m.Acts[k-1].Bounds()
		for i := 0; i < m.Sizes[k]; i++ {
			e.lo = append(e.lo, float64(l))
			e.hi = append(e.hi, float64(h))
		}
	}
	e.h = make([]float64, N*N)
	gk := 1.0 // γ^{k−1}
	for k := 1; k <= e.k; k++ {
		d, o := m.Sizes[k], e.offs[k]
		blk := m.HessianBlock(k, k < e.k)
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				e.h[(o+i)*N+o+j] = gk * blk[i*d+j]
			}
		}
		if k < e.k { // block (k+1, k) = −γ^k(1+β_k)W_k and its transpose
			du, ou := m.Sizes[k+1], e.offs[k+1]
			coef := -gk * m.Gamma * (1 + m.Beta[k])
			W := m.W[k]
			for i := 0; i < du; i++ {
				for j := 0; j < d; j++ {
					v := coef * float64(W[i*d+j])
					e.h[(ou+i)*N+o+j] = v
					e.h[(o+j)*N+ou+i] = v
				}
			}
		}
		gk *= m.Gamma
	}
	if N > 0 {
		e.lamMin = lowerEig(e.h, N)
		e.c0 = e.Gradient(make([]float64, m.Sizes[0]), make([]float64, N))
		scale(e.c0, -1)
	}
	return e, nil
}

// Model returns the model.
func (e *Exact) Model() *lrrn.Model { return e.m }

// Blocks returns K, the number of variable blocks (layers 1 … K).
func (e *Exact) Blocks() int { return e.k }

// Size returns N, the number of variable units.
func (e *Exact) Size() int { return e.n }

// Offset returns where block k (1 … K+1) starts in the stacked state;
// Offset(K+1) = N.
func (e *Exact) Offset(k int) int { return e.offs[k] }

// Bounds returns the activation bounds of every variable unit (read-only).
func (e *Exact) Bounds() (lo, hi []float64) { return e.lo, e.hi }

// LamMin returns a lower bound of the smallest eigenvalue of H (up to the
// float64 rounding of H's entries), 0 when none could be shown.
func (e *Exact) LamMin() float64 { return e.lamMin }

// Hessian returns H (N×N, row-major; read-only).
func (e *Exact) Hessian() []float64 { return e.h }

// lowerEig returns a lower bound of λ_min of the symmetric n×n matrix h:
// an estimate λ̂ by inverse iteration, then the largest shift s ≤ 0.99·λ̂
// (bisection) for which the float64 Cholesky factorisation of h − sI runs
// to completion, less that factorisation's backward error
// γ_{n+1}·tr(h − sI) (Demmel; verify/chol.go has the certified version).
// It returns 0 when h is not numerically positive definite.
func lowerEig(h []float64, n int) float64 {
	work := make([]float64, n*n)
	shifted := func(s float64) bool {
		copy(work, h)
		for i := 0; i < n; i++ {
			work[i*n+i] -= s
		}
		return linalg.Cholesky(work, n, nil) == nil
	}
	if !shifted(0) {
		return 0
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = 1 + 0.5*math.Sin(float64(i))
	}
	scale(v, 1/norm(v))
	w := make([]float64, n)
	est := math.Inf(1)
	for it := 0; it < 100; it++ {
		copy(w, v)
		linalg.CholeskySolve(work, n, w) // work holds the factor of h
		rq := dot(v, w) / dot(w, w)      // wᵀhw/wᵀw with hw = v
		copy(v, w)
		scale(v, 1/norm(v))
		done := math.Abs(rq-est) <= 1e-8*rq
		est = rq
		if done {
			break
		}
	}
	lo, hi := 0.0, 0.99*est
	if shifted(hi) {
		lo = hi
	} else {
		for step := 0; step < 8; step++ {
			mid := (lo + hi) / 2
			if shifted(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	var tr float64
	for i := 0; i < n; i++ {
		tr += math.Abs(h[i*n+i] - lo)
	}
	g := float64(n+1) * 0x1p-53
	return max(0, lo-g/(1-g)*tr*(1+1e-10))
}

// layer returns block k (1 … K) of the stacked state z; layer 0 is x.
func (e *Exact) layer(x, z []float64, k int) []float64 {
	if k == 0 {
		return x
	}
	return z[e.offs[k]:e.offs[k+1]]
}

// Gradient returns ∂E/∂z of the free problem (the energy's terms
// 0 … K−1) at the stacked state z for input x, written from the energy's
// definition in docs/math.md, in float64.
func (e *Exact) Gradient(x, z []float64) []float64 {
	m := e.m
	g := make([]float64, e.n)
	gk := 1.0
	for k := 0; k < e.k; k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		W := m.W[k]
		lower, upper := e.layer(x, z, k), e.layer(x, z, k+1)
		r := make([]float64, rows)
		s := append([]float64(nil), lower...)
		for i := 0; i < rows; i++ {
			row := W[i*cols : i*cols+cols]
			var wz float64
			for j, w := range row {
				wz += float64(w) * lower[j]
				s[j] -= float64(w) * upper[i]
			}
			r[i] = upper[i] - wz - float64(m.B[k][i])
		}
		beta := m.Beta[k]
		gu := g[e.offs[k+1]:e.offs[k+2]]
		for i := 0; i < rows; i++ {
			var ws float64
			for j, w := range W[i*cols : i*cols+cols] {
				ws += float64(w) * s[j]
			}
			gu[i] += gk * (r[i] - beta*ws)
		}
		if k > 0 {
			gl := g[e.offs[k]:e.offs[k+1]]
			for j := 0; j < cols; j++ {
				var wr float64
				for i := 0; i < rows; i++ {
					wr += float64(W[i*cols+j]) * r[i]
				}
				gl[j] += gk * (-wr + beta*s[j])
			}
		}
		gk *= m.Gamma
	}
	return g
}

// minNorm returns the norm of the min-norm subgradient of E + ι_C at the
// feasible z with gradient g.
func (e *Exact) minNorm(z, g []float64) float64 {
	var s float64
	for i, v := range g {
		if (z[i] <= e.lo[i] && v > 0) || (z[i] >= e.hi[i] && v < 0) {
			continue
		}
		s += v * v
	}
	return math.Sqrt(s)
}

// rhs returns c(x) with ∇E(z) = H z − c(x). The gradient at z = 0 is
// −c(x), and x enters it only through block 1's regression term
// −(1+β_0)W_0x (docs/math.md: c_1 holds (1+β_0)W_0 z_0), so c(x) = c(0) +
// (1+β_0)W_0x there.
func (e *Exact) rhs(x []float64) []float64 {
	m := e.m
	c := slices.Clone(e.c0)
	d0, s := m.Sizes[0], 1+m.Beta[0]
	for i := 0; i < m.Sizes[1]; i++ {
		var v float64
		for p, w := range m.W[0][i*d0 : i*d0+d0] {
			v += float64(w) * x[p]
		}
		c[i] += s * v
	}
	return c
}

// gradAt returns H z − c.
func (e *Exact) gradAt(c, z []float64) []float64 {
	N := e.n
	g := make([]float64, N)
	for i := 0; i < N; i++ {
		g[i] = dot(e.h[i*N:i*N+N], z) - c[i]
	}
	return g
}

// Solve returns the minimiser for input x, warm-started from warm (a
// stacked state, clamped to the bounds) when not nil, and a bound on its
// distance to the exact miniser, ‖g‖/LamMin with g the min-norm
// subgradient (up to float64 rounding). It stops when ‖g‖ < 1e-13 or when
// rounding keeps it from decreasing.
func (e *Exact) Solve(x, warm []float64) ([]float64, float64) {
	return e.solve(x, warm, newFactorCache(e.n))
}

func (e *Exact) solve(x, warm []float64, fc *factorCache) ([]float64, float64) {
	N := e.n
	if N == 0 {
		return nil, 0
	}
	const tol = 1e-13
	c := e.rhs(x)
	z := make([]float64, N)
	if warm != nil {
		copy(z, warm)
	}
	for i := range z {
		if math.IsNaN(z[i]) || math.IsInf(z[i], 0) {
			z[i] = 0
		}
		z[i] = math.Min(math.Max(z[i], e.lo[i]), e.hi[i])
	}
	g := e.gradAt(c, z)
	res := e.minNorm(z, g)
	stall := 0
	free := make([]int, 0, N)
	for round := 0; round < 200 && res >= tol && stall < 3; round++ {
		before := res
		// Active-set Newton polish: solve H_FF d = −g_F on the free set.
		for it := 0; it < 8; it++ {
			free = free[:0]
			for i := range z {
				if (z[i] <= e.lo[i] && g[i] > 0) || (z[i] >= e.hi[i] && g[i] < 0) {
					continue
				}
				free = append(free, i)
			}
			f := fc.get(e, free)
			if f == nil {
				break
			}
			dz := make([]float64, len(f.pos))
			for a, i := range f.pos {
				dz[a] = -g[i]
			}
			f.solve(dz)
			ok := true
			nz := append([]float64(nil), z...)
			for a, i := range f.pos {
				nz[i] = z[i] + dz[a]
				if !(nz[i] >= e.lo[i] && nz[i] <= e.hi[i]) {
					ok = false
					nz[i] = math.Min(math.Max(nz[i], e.lo[i]), e.hi[i])
				}
			}
			ng := e.gradAt(c, nz)
			if nr := e.minNorm(nz, ng); nr <= res {
				z, g, res = nz, ng, nr
			}
			if !ok || res < tol {
				break
			}
		}
		if res < tol {
			break
		}
		// A few BCD passes with an incrementally updated gradient.
		for pass := 0; pass < 10; pass++ {
			for i := 0; i < N; i++ {
				hii := e.h[i*N+i]
				nz := math.Min(math.Max(z[i]-g[i]/hii, e.lo[i]), e.hi[i])
				if dz := nz - z[i]; dz != 0 {
					z[i] = nz
					for j, h := range e.h[i*N : i*N+N] { // row i = column i
						g[j] += h * dz
					}
				}
			}
		}
		g = e.gradAt(c, z)
		res = e.minNorm(z, g)
		if res > 0.5*before {
			stall++
		} else {
			stall = 0
		}
	}
	if e.lamMin <= 0 {
		return z, math.Inf(1)
	}
	return z, res / e.lamMin
}

// Output returns the model's output for the input x and free state z (the
// minimiser from Solve): z_L, or W_{L−1}z_{L−1} + b_{L−1} when the output
// is eliminated.
func (e *Exact) Output(x, z []float64) []float64 {
	m := e.m
	L := m.L()
	if e.k == L {
		return append([]float64(nil), e.layer(x, z, L)...)
	}
	rows, cols := m.Sizes[L], m.Sizes[L-1]
	in := e.layer(x, z, L-1)
	o := make([]float64, rows)
	for i := range o {
		s := float64(m.B[L-1][i])
		for j, w := range m.W[L-1][i*cols : i*cols+cols] {
			s += float64(w) * in[j]
		}
		o[i] = s
	}
	return o
}

// outputDir returns a on the state with aᵀdz = d(Σ_i c_i o_i) for a change
// dz of the state (K ≥ 1).
func (e *Exact) outputDir(c []float64) []float64 {
	m := e.m
	L := m.L()
	a := make([]float64, e.n)
	if e.k == L {
		copy(a[e.offs[L]:], c)
		return a
	}
	cols := m.Sizes[L-1]
	blk := a[e.offs[L-1]:e.offs[L]]
	for i, ci := range c {
		if ci == 0 {
			continue
		}
		for j, w := range m.W[L-1][i*cols : i*cols+cols] {
			blk[j] += ci * float64(w)
		}
	}
	return a
}

// OutputDir returns a on the state with aᵀz = o_i(z) − (its bias): the
// derivative of output unit i with respect to the state (K ≥ 1).
func (e *Exact) OutputDir(i int) []float64 {
	c := make([]float64, e.m.Sizes[e.m.L()])
	c[i] = 1
	return e.outputDir(c)
}

// pairNorm returns ‖∂(o_y − o_j)/∂z‖: how far a unit of state error can
// move the difference o_y − o_j.
func (e *Exact) pairNorm(y, j int) float64 {
	m := e.m
	L := m.L()
	switch {
	case e.k == 0:
		return 0
	case e.k == L:
		return math.Sqrt2
	}
	cols := m.Sizes[L-1]
	W := m.W[L-1]
	var s float64
	for p := 0; p < cols; p++ {
		d := float64(W[y*cols+p]) - float64(W[j*cols+p])
		s += d * d
	}
	return math.Sqrt(s)
}

// Face is the minimiser's face at a state: the units strictly inside their
// bounds (free) and the Cholesky factor of H on them. On the face the
// minimiser is affine in x: H_FF z_F = c_F(x) − H_FA z_A, and x enters
// only c_1 = (1+β_0)W_0 x + …, so dz_F/dx = H_FF⁻¹(1+β_0)W_0 on the free
// units of block 1.
type Face struct {
	e *Exact
	f *factor
}

// Face returns the face of the state z (nil when H_FF cannot be factored).
func (e *Exact) Face(z []float64) *Face { return e.face(z, newFactorCache(e.n)) }

// face returns the face of z with its factor from fc; the factor may be
// updated in place by fc's next get, so use the face before that.
func (e *Exact) face(z []float64, fc *factorCache) *Face {
	free := make([]int, 0, e.n)
	for i := range z {
		if z[i] > e.lo[i] && z[i] < e.hi[i] {
			free = append(free, i)
		}
	}
	f := fc.get(e, free)
	if f == nil && e.n > 0 {
		return nil
	}
	return &Face{e: e, f: f}
}

// GradX returns ∂(aᵀz)/∂x on this face for a direction a on the state.
func (f *Face) GradX(a []float64) []float64 {
	e, m := f.e, f.e.m
	d0 := m.Sizes[0]
	gx := make([]float64, d0)
	if e.n == 0 {
		return gx
	}
	pos := f.f.pos
	lam := make([]float64, len(pos))
	for r, i := range pos {
		lam[r] = a[i]
	}
	f.f.solve(lam)
	s := 1 + m.Beta[0]
	for r, i := range pos {
		if i >= m.Sizes[1] || lam[r] == 0 { // only block 1 sees x
			continue
		}
		c := s * lam[r]
		for p, w := range m.W[0][i*d0 : i*d0+d0] {
			gx[p] += c * float64(w)
		}
	}
	return gx
}

// OutputGradX returns ∂(Σ_i c_i o_i)/∂x on this face.
func (f *Face) OutputGradX(c []float64) []float64 {
	e, m := f.e, f.e.m
	if e.k > 0 {
		return f.GradX(e.outputDir(c))
	}
	// No variable block: o = W_0 x + b_0.
	d0 := m.Sizes[0]
	gx := make([]float64, d0)
	for i, ci := range c {
		if ci == 0 {
			continue
		}
		for p, w := range m.W[0][i*d0 : i*d0+d0] {
			gx[p] += ci * float64(w)
		}
	}
	return gx
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func norm(v []float64) float64 { return math.Sqrt(dot(v, v)) }

func scale(v []float64, s float64) {
	for i := range v {
		v[i] *= s
	}
}
