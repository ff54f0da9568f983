package verify_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

// Certify the first MNIST test image with a trained model: the exact model
// (not just the finite-pass iterate) classifies every image within the radius
// as a 7.
func Example() {
	m, err1 := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	images, err2 := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err := errors.Join(err1, err2); err != nil {
		log.Fatal(err)
	}
	c, err := verify.New(m, verify.Options{}) // passes as needed, all cores
	if err != nil {
		log.Fatal(err)
	}
	cert, err := c.Certify(images.Image(0), 7) // label 7; −1 certifies the prediction
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ρ ≤ %.3f; prediction %d, certified %v, radius %.2f\n", c.Bounds().Rho, cert.Pred, cert.Certified, cert.Radius)
	// Output:
	// ρ ≤ 2.465; prediction 7, certified true, radius 0.28
}

// New does all the per-model work: certified spectral bounds of every
// weight matrix, the Lipschitz bound ρ and the strong-convexity constant μ
// that bounds the distance from an iterate to the exact minimiser.
func ExampleNew() {
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	if err != nil {
		log.Fatal(err)
	}
	c, err := verify.New(m, verify.Options{})
	if err != nil {
		log.Fatal(err)
	}
	b := c.Bounds()
	for k, l := range b.Layers {
		fmt.Printf("W_%d %d×%d: σ_max ≤ %.3f, ℓ ≤ %.3f\n", k, l.Rows, l.Cols, l.MaxUpper, l.Ell)
	}
	fmt.Printf("ρ ≤ %.3f (the paper's estimate, not sound: %.3f), μ ≥ %.3f\n", b.Rho, b.RhoEstimate, b.MuBest)
	// Output:
	// W_0 64×784: σ_max ≤ 1.226, ℓ ≤ 1.000
	// W_1 64×64: σ_max ≤ 1.064, ℓ ≤ 1.000
	// W_2 10×64: σ_max ≤ 2.465, ℓ ≤ 2.465
	// ρ ≤ 2.465 (the paper's estimate, not sound: 2.409), μ ≥ 0.868
}

// Certify one image (a 2) with a fixed number of passes on one core: about
// its label, about a wrong label (the margin is negative: not certified)
// and about the prediction (label −1). The pairwise radius (linear output
// with β_{L−1} = 0) is also sound and at least Radius.
func ExampleCertifier_Certify() {
	m, err1 := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	images, err2 := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err := errors.Join(err1, err2); err != nil {
		log.Fatal(err)
	}
	c, err := verify.New(m, verify.Options{Passes: 20, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, label := range []int{2, 3, -1} {
		cert, err := c.Certify(images.Image(1), label)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("label %d (given %v): prediction %d, margin %.3f (exact model ≥ %.3f), certified %v, radius %.3f, pairwise %.3f\n",
			cert.Label, cert.LabelGiven, cert.Pred, cert.Margin, cert.MarginLower, cert.Certified, cert.Radius, cert.PairRadius)
	}
	// Output:
	// label 2 (given true): prediction 2, margin 0.924 (exact model ≥ 0.924), certified true, radius 0.265, pairwise 0.302
	// label 3 (given true): prediction 2, margin -0.924 (exact model ≥ -0.924), certified false, radius 0.000, pairwise 0.000
	// label 2 (given false): prediction 2, margin 0.924 (exact model ≥ 0.924), certified true, radius 0.265, pairwise 0.302
}

// Certify a batch spread over all cores (passes as needed) and count the
// images certified at their labels within ℓ2 radii 0.1 and 0.2.
func ExampleCertifier_CertifyBatch() {
	m, err1 := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	images, err2 := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	labels, err3 := idx.ReadLabels("../testdata/mnist-t500-labels-idx1-ubyte.gz")
	if err := errors.Join(err1, err2, err3); err != nil {
		log.Fatal(err)
	}
	c, err := verify.New(m, verify.Options{})
	if err != nil {
		log.Fatal(err)
	}
	const n = 200
	y := make([]int, n)
	for i := range y {
		y[i] = int(labels[i])
	}
	out := make([]verify.Certificate, n)
	if err := c.CertifyBatch(context.Background(), images.Pixels[:n*images.Dim()], y, out); err != nil {
		log.Fatal(err)
	}
	var certified, at01, at02 int
	for _, cert := range out {
		if cert.Certified {
			certified++
		}
		if cert.Radius >= 0.1 {
			at01++
		}
		if cert.Radius >= 0.2 {
			at02++
		}
	}
	fmt.Printf("%d of %d certified at their labels; radius ≥ 0.1: %d, ≥ 0.2: %d\n", certified, n, at01, at02)
	// Output:
	// 200 of 200 certified at their labels; radius ≥ 0.1: 193, ≥ 0.2: 171
}
