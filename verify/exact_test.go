package verify

import (
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
	return p
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
