package verify

import (
	"math"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
)

// exactProblem is an independent float64 reference for the free problem:
// the energy's gradient written from its definition in docs/math.md, the
// (constant) Hessian assembled from that gradient, and a solver that runs
// BCD to convergence and then polishes with active-set Newton steps, so
// that the minimiser is known to about 1e-12.
type exactProblem struct {
	m      *lrrn.Model
	K      int // variable blocks 1 … K
	N      int
	offs   []int
	H      []float64 // N×N
	lo, hi []float64
	lamMin float64 // λ_min(H) by Jacobi (linalg)
}

func newExact(m *lrrn.Model) *exactProblem {
	p := &exactProblem{m: m, K: m.L()}
	if m.ReducedOutput() {
		p.K = m.L() - 1
	}
	p.offs = make([]int, p.K+2)
	for k := 1; k <= p.K; k++ {
		p.offs[k+1] = p.offs[k] + m.Sizes[k]
	}
	p.N = p.offs[p.K+1]
	for k := 1; k <= p.K; k++ {
		l, h := m.Acts[k-1].Bounds()
		for i := 0; i < m.Sizes[k]; i++ {
			p.lo = append(p.lo, float64(l))
			p.hi = append(p.hi, float64(h))
		}
	}
	x0 := make([]float64, m.Sizes[0])
	z := make([]float64, p.N)
	g0 := p.grad(x0, z)
	p.H = make([]float64, p.N*p.N)
	for j := 0; j < p.N; j++ {
		z[j] = 1
		g := p.grad(x0, z)
		z[j] = 0
		for i := 0; i < p.N; i++ {
			p.H[i*p.N+j] = g[i] - g0[i]
		}
	}
	for i := 0; i < p.N; i++ { // symmetrise away rounding
		for j := 0; j < i; j++ {
			a := 0.5 * (p.H[i*p.N+j] + p.H[j*p.N+i])
			p.H[i*p.N+j], p.H[j*p.N+i] = a, a
		}
	}
	if p.N > 0 {
		p.lamMin = linalg.SymEigenvalues(p.H, p.N)[0]
	}
	return p
}

// layer returns block k (1 … K) of the stacked vector z; layer 0 is x.
func (p *exactProblem) layer(x, z []float64, k int) []float64 {
	if k == 0 {
		return x
	}
	return z[p.offs[k]:p.offs[k+1]]
}

// grad returns ∂E/∂z of the free problem (terms 0 … K−1) at z.
func (p *exactProblem) grad(x, z []float64) []float64 {
	m := p.m
	g := make([]float64, p.N)
	gk := 1.0
	for k := 0; k < p.K; k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		W := m.W[k]
		lower, upper := p.layer(x, z, k), p.layer(x, z, k+1)
		r := make([]float64, rows)
		s := append([]float64(nil), lower...)
		for i := 0; i < rows; i++ {
			var wz float64
			for j := 0; j < cols; j++ {
				wz += float64(W[i*cols+j]) * lower[j]
				s[j] -= float64(W[i*cols+j]) * upper[i]
			}
			r[i] = upper[i] - wz - float64(m.B[k][i])
		}
		beta := m.Beta[k]
		gu := g[p.offs[k+1]:p.offs[k+2]]
		for i := 0; i < rows; i++ {
			var ws float64
			for j := 0; j < cols; j++ {
				ws += float64(W[i*cols+j]) * s[j]
			}
			gu[i] += gk * (r[i] - beta*ws)
		}
		if k > 0 {
			gl := g[p.offs[k]:p.offs[k+1]]
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

// minNorm returns the min-norm subgradient's norm at feasible z.
func (p *exactProblem) minNorm(z, g []float64) float64 {
	var s float64
	for i, v := range g {
		if (z[i] <= p.lo[i] && v > 0) || (z[i] >= p.hi[i] && v < 0) {
			continue
		}
		s += v * v
	}
	return math.Sqrt(s)
}

// rhs returns c(x) with ∇E(z) = H z − c(x): the gradient at z = 0, negated.
func (p *exactProblem) rhs(x []float64) []float64 {
	c := p.grad(x, make([]float64, p.N))
	for i := range c {
		c[i] = -c[i]
	}
	return c
}

// gradAt returns H z − c.
func (p *exactProblem) gradAt(c, z []float64) []float64 {
	N := p.N
	g := make([]float64, N)
	for i := 0; i < N; i++ {
		row := p.H[i*N : i*N+N]
		s := -c[i]
		for j, h := range row {
			s += h * z[j]
		}
		g[i] = s
	}
	return g
}

// solve returns the minimiser for input x (float64), warm-started from
// warm when not nil, and a bound on its distance to the exact minimiser
// (‖g‖/λ_min, up to float64 rounding).
func (p *exactProblem) solve(x []float64, warm []float64) ([]float64, float64) {
	N := p.N
	if N == 0 {
		return nil, 0
	}
	c := p.rhs(x)
	z := make([]float64, N)
	if warm != nil {
		copy(z, warm)
	}
	for i := range z {
		z[i] = math.Min(math.Max(z[i], p.lo[i]), p.hi[i])
	}
	g := p.gradAt(c, z)
	res := p.minNorm(z, g)
	for round := 0; round < 200 && res >= 1e-13; round++ {
		// Active-set Newton polish.
		for it := 0; it < 8; it++ {
			var free []int
			for i := range z {
				if (z[i] <= p.lo[i] && g[i] > 0) || (z[i] >= p.hi[i] && g[i] < 0) {
					continue
				}
				free = append(free, i)
			}
			dz := p.newtonStep(free, g)
			ok := true
			nz := append([]float64(nil), z...)
			for a, i := range free {
				nz[i] = z[i] + dz[a]
				if nz[i] < p.lo[i] || nz[i] > p.hi[i] {
					ok = false
					nz[i] = math.Min(math.Max(nz[i], p.lo[i]), p.hi[i])
				}
			}
			ng := p.gradAt(c, nz)
			if nr := p.minNorm(nz, ng); nr <= res {
				z, g, res = nz, ng, nr
			}
			if !ok || res < 1e-13 {
				break
			}
		}
		if res < 1e-13 {
			break
		}
		// A few BCD passes with an incrementally updated gradient.
		for pass := 0; pass < 10; pass++ {
			for i := 0; i < N; i++ {
				hii := p.H[i*N+i]
				nz := math.Min(math.Max(z[i]-g[i]/hii, p.lo[i]), p.hi[i])
				if dz := nz - z[i]; dz != 0 {
					z[i] = nz
					col := p.H[i*N : i*N+N] // symmetric: row i = column i
					for j, h := range col {
						g[j] += h * dz
					}
				}
			}
		}
		g = p.gradAt(c, z)
		res = p.minNorm(z, g)
	}
	return z, res / p.lamMin
}

// newtonStep solves H_FF d = −g_F by Cholesky (float64).
func (p *exactProblem) newtonStep(free []int, g []float64) []float64 {
	n := len(free)
	a := make([]float64, n*n)
	b := make([]float64, n)
	for r, i := range free {
		for c, j := range free {
			a[r*n+c] = p.H[i*p.N+j]
		}
		b[r] = -g[i]
	}
	return cholSolve(a, n, b)
}

// cholSolve solves a·x = b for symmetric positive definite a (overwritten).
func cholSolve(a []float64, n int, b []float64) []float64 {
	for j := 0; j < n; j++ {
		for k := 0; k < j; k++ {
			a[j*n+j] -= a[j*n+k] * a[j*n+k]
		}
		a[j*n+j] = math.Sqrt(a[j*n+j])
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = s / a[j*n+j]
		}
	}
	x := append([]float64(nil), b...)
	for i := 0; i < n; i++ {
		for k := 0; k < i; k++ {
			x[i] -= a[i*n+k] * x[k]
		}
		x[i] /= a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		for k := i + 1; k < n; k++ {
			x[i] -= a[k*n+i] * x[k]
		}
		x[i] /= a[i*n+i]
	}
	return x
}

// output returns the exact model's output for the free state z.
func (p *exactProblem) output(x, z []float64) []float64 {
	m := p.m
	L := m.L()
	if p.K == L {
		return append([]float64(nil), p.layer(x, z, L)...)
	}
	rows, cols := m.Sizes[L], m.Sizes[L-1]
	in := p.layer(x, z, L-1)
	o := make([]float64, rows)
	for i := range o {
		s := float64(m.B[L-1][i])
		for j := 0; j < cols; j++ {
			s += float64(m.W[L-1][i*cols+j]) * in[j]
		}
		o[i] = s
	}
	return o
}

// outputDir returns a on the state such that aᵀz = o_i(z) − (bias), the
// derivative of output unit i with respect to the state.
func (p *exactProblem) outputDir(i int) []float64 {
	m := p.m
	L := m.L()
	a := make([]float64, p.N)
	if p.K == L {
		a[p.offs[L]+i] = 1
		return a
	}
	cols := m.Sizes[L-1]
	for c := 0; c < cols; c++ {
		a[p.offs[L-1]+c] = float64(m.W[L-1][i*cols+c])
	}
	return a
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// face is the minimiser's current face at (x, z): the free units (strictly
// inside their bounds) and the Cholesky factor of H_FF, for derivatives of
// the minimiser with respect to x.
type face struct {
	p    *exactProblem
	free []int
	l    []float64 // Cholesky factor of H_FF (lower, row-major)
}

func (p *exactProblem) face(z []float64) *face {
	f := &face{p: p}
	for i := range z {
		if z[i] > p.lo[i] && z[i] < p.hi[i] {
			f.free = append(f.free, i)
		}
	}
	n := len(f.free)
	a := make([]float64, n*n)
	for r, i := range f.free {
		for c, k := range f.free {
			a[r*n+c] = p.H[i*p.N+k]
		}
	}
	for j := 0; j < n; j++ {
		for k := 0; k < j; k++ {
			a[j*n+j] -= a[j*n+k] * a[j*n+k]
		}
		a[j*n+j] = math.Sqrt(a[j*n+j])
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = s / a[j*n+j]
		}
	}
	f.l = a
	return f
}

// gradX returns ∂(aᵀz)/∂x on this face.
func (f *face) gradX(a []float64) []float64 {
	p, m := f.p, f.p.m
	n := len(f.free)
	lam := make([]float64, n)
	for r, i := range f.free {
		lam[r] = a[i]
	}
	l := f.l
	for i := 0; i < n; i++ {
		for k := 0; k < i; k++ {
			lam[i] -= l[i*n+k] * lam[k]
		}
		lam[i] /= l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		for k := i + 1; k < n; k++ {
			lam[i] -= l[k*n+i] * lam[k]
		}
		lam[i] /= l[i*n+i]
	}
	d0 := m.Sizes[0]
	gx := make([]float64, d0)
	scale := 1 + m.Beta[0]
	for r, i := range f.free {
		if i >= m.Sizes[1] || lam[r] == 0 {
			continue
		}
		row := m.W[0][i*d0 : i*d0+d0]
		for c, w := range row {
			gx[c] += scale * lam[r] * float64(w)
		}
	}
	_ = p
	return gx
}
