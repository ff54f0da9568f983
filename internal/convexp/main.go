// Command convexp measures a gradient convention (docs/training.md): it
// trains the seed's MNIST network (784-64-64-10, β = [1,1,0], γ = 1/8,
// batch 10, 20 passes) and prints per epoch the loss, test accuracy,
// margins, ρ (sound and σ_max-only) and the extreme singular values of
// every W_k, as CSV.
package main

import (
	"context"
	"flag"
	"fmt"
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
			fmt.Printf("W_%d %dx%d β=%g: σ_max ≤ %.4f (estimate %.4f), σ_min ≥ %.4f, ℓ ≤ %.4f, seed-style ℓ %.4f\n",
				k, l.Rows, l.Cols, l.Beta, l.MaxUpper, l.MaxEstimate, l.MinLower, l.Ell, l.EllSeed)
		}
		fmt.Printf("ρ ≤ %.4f, seed-style %.4f (epochs %d)\n", b.Rho, b.RhoSeed, m.Meta.Epochs)
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
		fmt.Printf("%d,%.5f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.1f\n", e, loss, ev.Accuracy, ev.Rho, ev.RhoSeedStyle, ev.MeanMargin, ev.MedianMargin, ev.MedianDelta,
			lb[0].MaxUpper, lb[0].MinLower, lb[1].MaxUpper, lb[1].MinLower, lb[2].MaxUpper, time.Since(t0).Seconds())
	}
}
