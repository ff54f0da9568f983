// Command convexp measures a gradient convention (docs/training.md): it
// trains the paper's MNIST network (784-64-64-10, β = [1,1,0], γ = 1/8,
// batch 10, 20 passes) and prints per epoch the loss, test accuracy,
// margins, ρ (sound and σ_max-only) and the extreme singular values of
// every W_k, as CSV.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
	"github.com/lrrn/lrrn/verify"
)

func main() {
	conv := flag.String("convention", "mean", "")
	lr := flag.Float64("lr", 0.4, "")
	wd := flag.Float64("wd", 1e-5, "")
	epochs := flag.Int("epochs", 5, "")
	workers := flag.Int("workers", 1, "")
	seed := flag.Uint64("seed", 1, "")
	inspect := flag.String("inspect", "", "print the per-layer bounds of this model file and exit")
	jac := flag.Int("jacobian", 0, "with -inspect: also a Lipschitz lower bound from this many test images")
	flag.Parse()
	if *inspect != "" {
		m, err := lrrn.Load(*inspect)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		c, err := verify.New(m, verify.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		b := c.Bounds()
		for k, l := range b.Layers {
			fmt.Printf("W_%d %dx%d β=%g: σ_max ≤ %.4f (estimate %.4f), σ_min ≥ %.4f, ℓ ≤ %.4f, power-iteration estimate of ℓ %.4f\n",
				k, l.Rows, l.Cols, l.Beta, l.MaxUpper, l.MaxEstimate, l.MinLower, l.Ell, l.EllEstimate)
		}
		fmt.Printf("ρ ≤ %.4f, power-iteration estimate %.4f (epochs %d)\n", b.Rho, b.RhoEstimate, m.Meta.Epochs)
		if *jac > 0 {
			_, tes, err := dataset.Load(dataset.MNIST, "")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			lipschitzLowerBound(m, tes.Pixels, *jac)
		}
		return
	}
	c, err := train.ParseConvention(*conv)
	if err != nil {
		panic(err)
	}
	trs, tes, err := dataset.Load(dataset.MNIST, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tr := &train.Data{X: trs.Pixels, Labels: trs.Labels, N: trs.N, D: trs.Dim()}
	te := &train.Data{X: tes.Pixels, Labels: tes.Labels, N: tes.N, D: tes.Dim()}
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, 64, 64, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, *seed)
	if err != nil {
		panic(err)
	}
	t, err := train.New(m, tr, train.Options{Mode: train.Supervised, LR: *lr, Batch: 10, WeightDecay: *wd, Passes: 20, Seed: *seed, Workers: *workers, Convention: c})
	if err != nil {
		panic(err)
	}
	fmt.Printf("# convention=%s lr=%g wd=%g\nepoch,loss,acc,rho,rho_seedstyle,mean_m,median_m,median_delta,s0max_upper,s0min_lower,s1max_upper,s1min_lower,s2max_upper,secs\n", c, *lr, *wd)
	for e := 1; e <= *epochs; e++ {
		t0 := time.Now()
		loss, err := t.RunEpoch(context.Background(), nil)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		ev, err := train.Evaluate(m, te, 20, *workers)
		if err != nil {
			panic(err)
		}
		lb := ev.Bounds.Layers
		fmt.Printf("%d,%.5f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.1f\n", e, loss, ev.Accuracy, ev.Rho, ev.RhoEstimate, ev.MeanMargin, ev.MedianMargin, ev.MedianDelta,
			lb[0].MaxUpper, lb[0].MinLower, lb[1].MaxUpper, lb[1].MinLower, lb[2].MaxUpper, time.Since(t0).Seconds())
	}
}

// lipschitzLowerBound estimates the Jacobian J of x ↦ ž_L(x) at n test
// images by central differences, takes its top right singular vector v
// (power iteration on JᵀJ) and evaluates the quotient
// ‖f(x+εv) − f(x−εv)‖ / (2ε) of the two actual inputs: every quotient is a
// lower bound of the Lipschitz constant (up to the inference error, made
// small with 400 passes).
func lipschitzLowerBound(m *lrrn.Model, pixels []float32, n int) {
	const eps, passes = 1e-3, 400
	d0, dL := m.Sizes[0], m.Sizes[m.L()]
	s, err := lrrn.NewSolver(m)
	if err != nil {
		panic(err)
	}
	ws := s.NewWorkspace()
	st := s.NewStates(2 * d0)
	batch := make([]float32, 2*d0*d0)
	best, sum := 0.0, 0.0
	for i := 0; i < n; i++ {
		x := pixels[i*d0 : (i+1)*d0]
		for j := 0; j < d0; j++ {
			p, q := batch[2*j*d0:(2*j+1)*d0], batch[(2*j+1)*d0:(2*j+2)*d0]
			copy(p, x)
			copy(q, x)
			p[j] += eps
			q[j] -= eps
		}
		if err := s.Free(ws, batch, 2*d0, passes, st); err != nil {
			panic(err)
		}
		J := make([]float64, dL*d0) // J[r][j]
		for j := 0; j < d0; j++ {
			a, c := st.Output(2*j), st.Output(2*j+1)
			for r := 0; r < dL; r++ {
				J[r*d0+j] = (float64(a[r]) - float64(c[r])) / (2 * eps)
			}
		}
		v := make([]float64, d0)
		for j := range v {
			v[j] = 1
		}
		u := make([]float64, dL)
		for it := 0; it < 100; it++ {
			for r := 0; r < dL; r++ {
				u[r] = 0
				for j := 0; j < d0; j++ {
					u[r] += J[r*d0+j] * v[j]
				}
			}
			var nrm float64
			for j := 0; j < d0; j++ {
				v[j] = 0
				for r := 0; r < dL; r++ {
					v[j] += J[r*d0+j] * u[r]
				}
				nrm += v[j] * v[j]
			}
			nrm = math.Sqrt(nrm)
			for j := range v {
				v[j] /= nrm
			}
		}
		// the quotient of two actual inputs x ± εv
		const e2 = 1e-2
		two := make([]float32, 2*d0)
		for j := 0; j < d0; j++ {
			two[j] = x[j] + float32(e2*v[j])
			two[d0+j] = x[j] - float32(e2*v[j])
		}
		var dx float64
		for j := 0; j < d0; j++ {
			dd := float64(two[j]) - float64(two[d0+j])
			dx += dd * dd
		}
		st2 := s.NewStates(2)
		if err := s.Free(nil, two, 2, passes, st2); err != nil {
			panic(err)
		}
		var df float64
		a, c := st2.Output(0), st2.Output(1)
		for r := 0; r < dL; r++ {
			dd := float64(a[r]) - float64(c[r])
			df += dd * dd
		}
		q := math.Sqrt(df / dx)
		sum += q
		best = max(best, q)
	}
	fmt.Printf("Lipschitz lower bound from %d test images (pairs x ± 0.01·v, v the top right singular vector of the finite-difference Jacobian): max %.4f, mean %.4f\n", n, best, sum/float64(n))
}
