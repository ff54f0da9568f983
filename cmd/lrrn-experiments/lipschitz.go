package main

import (
	"context"
	"fmt"
	"math"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
)

// lipschitzStep is ε of the two inputs x ± εv (v a unit vector) whose
// output difference bounds the Lipschitz constant from below.
const lipschitzStep = 0.01

// lipschitzCmd prints, for every model file, verify's certified bounds
// per weight layer and ρ, beside the estimates the paper's way of
// computing them gives; with --lipschitz-n N also lower bounds of the
// exact model's Lipschitz constant at the first N test images of
// --lipschitz-data (docs/training.md, "Which convention", compares the
// three).
func (r *runner) lipschitzCmd(ctx context.Context, paths []string) error {
	n, data := r.lipschitzN, r.lipschitzData
	if len(paths) == 0 {
		return cli.Usagef("lipschitz: give at least one model file")
	}
	if n < 0 {
		return cli.Usagef("--lipschitz-n %d: want 0 (no lower bound) or more", n)
	}
	var test *dataset.Set
	if n > 0 {
		name, err := dataset.Canonical(data)
		if err != nil {
			return cli.Usagef("--lipschitz-data: %v", err)
		}
		if test, err = dataset.LoadSplit(name, r.dataDirOf(name), dataset.Test); err != nil {
			return err
		}
	}
	for _, p := range paths {
		m, err := lrrn.Load(p)
		if err != nil {
			return err
		}
		c, err := verify.New(m, verify.Options{Workers: max(1, r.workers)})
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		b := c.Bounds()
		fmt.Fprintf(r.stdout, "%s:\n", p)
		for k, l := range b.Layers {
			fmt.Fprintf(r.stdout, "W_%d %dx%d β=%g: σ_max ≤ %.4f (estimate %.4f), σ_min ≥ %.4f, ℓ ≤ %.4f, estimate of ℓ %.4f\n",
				k, l.Rows, l.Cols, l.Beta, l.MaxUpper, l.MaxEstimate, l.MinLower, l.Ell, l.EllEstimate)
		}
		fmt.Fprintf(r.stdout, "ρ ≤ %.4f, estimate (the paper's way, not sound) %.4f (epochs %d)\n", b.Rho, b.RhoEstimate, m.Meta.Epochs)
		if test == nil {
			continue
		}
		if test.Dim() != m.Sizes[0] {
			return fmt.Errorf("%s takes %d inputs, but %s images have %d pixels", p, m.Sizes[0], test.Name, test.Dim())
		}
		ex, err := attack.NewExact(m)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		lb, err := lipschitzLower(ctx, ex, test.Pixels, test.Dim(), min(n, test.N), b.Layers[len(b.Layers)-1].MaxUpper)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "Lipschitz constant ≥ %.4f: the largest quotient ‖f(x+%gv) − f(x−%gv)‖/‖%gv‖ over the first %d %s images (v the top right singular vector of f's Jacobian at x; mean quotient %.4f; %d images skipped)\n",
			lb.max, lipschitzStep, lipschitzStep, 2*lipschitzStep, lb.images, test.Name, lb.mean, lb.skipped)
	}
	return nil
}

// lipschitzBound is the outcome of lipschitzLower.
type lipschitzBound struct {
	max, mean       float64 // of the quotients
	images, skipped int     // images tried; of those, where the Jacobian or an error bound was not available
}

// lipschitzLower bounds the Lipschitz constant of the exact model's map
// f: x ↦ output from below, at each of the first n inputs x of pixels (d
// values each): from f's Jacobian J at x (implicit differentiation on the
// minimiser's face, verify/attack) it takes the top right singular vector
// v, the direction f stretches most near x, and evaluates the quotient
// ‖f(x+εv) − f(x−εv)‖ / ‖2εv‖ of two actual inputs, less what the
// minimisers' error bounds can account for (wOut bounds the output
// layer's σ_max, which scales a state error in the output when the
// output is eliminated). Every such quotient is a lower bound of the
// Lipschitz constant (up to float64 rounding), so their maximum is one.
func lipschitzLower(ctx context.Context, ex *attack.Exact, pixels []float32, d, n int, wOut float64) (lipschitzBound, error) {
	var lb lipschitzBound
	var sum float64
	m := ex.Model()
	dL := m.Sizes[m.L()]
	J := make([]float64, dL*d)
	c := make([]float64, dL)
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return lb, err
		}
		lb.images++
		x := f64(pixels[i*d : (i+1)*d])
		z, _ := ex.Solve(x, nil)
		face := ex.Face(z)
		if face == nil {
			lb.skipped++
			continue
		}
		for r := range dL {
			c[r] = 1
			copy(J[r*d:(r+1)*d], face.OutputGradX(c))
			c[r] = 0
		}
		v := topRightSingular(J, dL, d)
		a, b := make([]float64, d), make([]float64, d)
		for j := range x {
			a[j], b[j] = x[j]+lipschitzStep*v[j], x[j]-lipschitzStep*v[j]
		}
		za, ea := ex.Solve(a, z)
		zb, eb := ex.Solve(b, z)
		if math.IsInf(ea+eb, 0) || math.IsNaN(ea+eb) {
			lb.skipped++
			continue
		}
		q := (dist(ex.Output(a, za), ex.Output(b, zb)) - max(1, wOut)*(ea+eb)) / dist(a, b)
		sum += q
		lb.max = max(lb.max, q)
	}
	if k := lb.images - lb.skipped; k > 0 {
		lb.mean = sum / float64(k)
	}
	return lb, nil
}

// topRightSingular returns the unit right singular vector of the m×n
// matrix J (row-major) of its largest singular value: Jᵀu normalised, u
// the top eigenvector of the m×m Gram matrix JJᵀ by power iteration (J
// is short and wide: m output units, n inputs).
func topRightSingular(J []float64, m, n int) []float64 {
	g := make([]float64, m*m)
	linalg.Gram(g, J, m, n)
	u, w := make([]float64, m), make([]float64, m)
	for i := range u {
		u[i] = 1
	}
	for range 200 {
		linalg.SymMatVec(w, g, u, m, 1)
		nrm := math.Sqrt(dot(w, w))
		if nrm == 0 {
			break
		}
		for i := range u {
			u[i] = w[i] / nrm
		}
	}
	v := make([]float64, n)
	for r := range m {
		for j := range v {
			v[j] += J[r*n+j] * u[r]
		}
	}
	if nrm := math.Sqrt(dot(v, v)); nrm > 0 {
		for j := range v {
			v[j] /= nrm
		}
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func dist(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}
