package verify_test

import (
	"fmt"
	"log"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

// Certify the first MNIST test image with a trained model: the exact model
// (not just the 20-pass iterate) classifies every image within the radius
// as a 7.
func Example() {
	m, err := lrrn.Load("testdata/mnist-784-64-64-10-10ep.lrrn")
	if err != nil {
		log.Fatal(err)
	}
	c, err := verify.New(m, verify.Options{}) // the model's 20 passes, all cores
	if err != nil {
		log.Fatal(err)
	}
	images, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	cert, err := c.Certify(images.Image(0), 7) // label 7; −1 certifies the prediction
	if err != nil {
		log.Fatal(err)
	}
	b := c.Bounds()
	fmt.Printf("ρ ≤ %.3f\n", b.Rho)
	fmt.Printf("prediction %d, certified %v\n", cert.Pred, cert.Certified)
	fmt.Printf("radius %.2f, pairwise radius %.2f\n", cert.Radius, cert.PairRadius)
	// Output:
	// ρ ≤ 2.184
	// prediction 7, certified true
	// radius 0.25, pairwise radius 0.28
}
