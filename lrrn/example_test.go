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

// Infer the free states of one image and read the predicted class, the
// largest output unit.
func ExampleSolver_Free() {
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	if err != nil {
		log.Fatal(err)
	}
	images, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	x := images.Image(0) // 784 pixels in [0,1]; its label is 7
	s, err := lrrn.NewSolver(m)
	if err != nil {
		log.Fatal(err)
	}
	st := s.NewStates(1)
	if err := s.Free(nil, x, 1, m.Passes, st); err != nil {
		log.Fatal(err)
	}
	out := st.Output(0)
	fmt.Println("predicted class:", argmax(out))
	// Output:
	// predicted class: 7
}

// Infer a batch: inputs are input-major, n × d_0 values. Reusing the
// Workspace and States makes repeated inference allocation-free.
func ExampleSolver_Free_batch() {
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	if err != nil {
		log.Fatal(err)
	}
	images, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	labels, err := idx.ReadLabels("../testdata/mnist-t500-labels-idx1-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	const n = 10
	s, err := lrrn.NewSolver(m)
	if err != nil {
		log.Fatal(err)
	}
	ws, st := s.NewWorkspace(), s.NewStates(n)
	if err := s.Free(ws, images.Pixels[:n*images.Dim()], n, m.Passes, st); err != nil {
		log.Fatal(err)
	}
	pred := make([]int, n)
	for i := range pred {
		pred[i] = argmax(st.Output(i))
	}
	fmt.Println("predicted:", pred)
	fmt.Println("labels:   ", labels[:n])
	// Output:
	// predicted: [7 2 1 0 4 1 4 9 5 9]
	// labels:    [7 2 1 0 4 1 4 9 5 9]
}

func argmax(v []float32) int {
	return slices.Index(v, slices.Max(v))
}
