package verify_test

import (
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
	// ρ ≤ 2.465; prediction 7, certified true, radius 0.27
}
