package lrrn_test

import (
	"fmt"
	"log"
	"slices"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
)

// Load a trained model and read its architecture and metadata.
func ExampleLoad() {
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sizes:", m.Sizes)
	fmt.Println("trained on:", m.Meta.Dataset)
	fmt.Println("default passes:", m.Passes)
	// Output:
	// sizes: [784 64 64 10]
	// trained on: mnist
	// default passes: 20
}

// Infer the free states of a batch of images and read the predicted
// classes, the largest output unit of each. Inputs are input-major, n × d_0
// values; reusing the Workspace and States makes repeated inference
// allocation-free.
func ExampleSolver_Free() {
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	if err != nil {
		log.Fatal(err)
	}
	images, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	const n = 10 // the first ten MNIST test images: 7 2 1 0 4 1 4 9 5 9
	s, err := lrrn.NewSolver(m)
	if err != nil {
		log.Fatal(err)
	}
	ws, st := s.NewWorkspace(), s.NewStates(n)
	if err := s.Free(ws, images.Pixels[:n*images.Dim()], n, m.Passes, st); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < n; i++ {
		fmt.Print(argmax(st.Output(i)), " ")
	}
	fmt.Println()
	// Output:
	// 7 2 1 0 4 1 4 9 5 9
}

func argmax(v []float32) int {
	return slices.Index(v, slices.Max(v))
}
