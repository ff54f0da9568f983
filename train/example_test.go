package train_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
)

// mnist500 returns images [lo, hi) of the 500 MNIST test images in
// testdata as a training set.
func mnist500(lo, hi int) *idx.Labelled {
	set, err := dataset.LoadFiles("../testdata/mnist-t500-images-idx3-ubyte.gz", "../testdata/mnist-t500-labels-idx1-ubyte.gz")
	if err != nil {
		log.Fatal(err)
	}
	return set.Slice(lo, hi)
}

// smallNet is the paper's MNIST architecture with narrower hidden layers.
var smallNet = lrrn.Config{
	Sizes: []int{784, 32, 32, 10},
	Acts:  []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear},
	Beta:  []float64{1, 1, 0}, Gamma: 0.125, Passes: 20,
}

// sgd are the paper's hyperparameters with the γ-divided mean gradient.
var sgd = train.Options{
	Mode: train.Supervised, LR: 0.4, Batch: 10, WeightDecay: 1e-5, Passes: 20, Seed: 1,
	Convention: train.Convention{GammaDiv: true, DecayScale: 1},
}

// smallModel returns smallNet with random weights.
func smallModel() *lrrn.Model {
	m, err := lrrn.NewRandom(smallNet, 1)
	if err != nil {
		log.Fatal(err)
	}
	return m
}

// smallTrainer returns a trainer of smallModel on d with sgd.
func smallTrainer(d *idx.Labelled) *train.Trainer {
	tr, err := train.New(smallModel(), d, sgd)
	if err != nil {
		log.Fatal(err)
	}
	return tr
}

// Train a small network for one epoch, batch by batch.
func ExampleNew() {
	tr, err := train.New(smallModel(), mnist500(0, 400), sgd)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	fmt.Println("batches per epoch:", tr.Batches())
	loss, err := tr.RunEpoch(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	epoch, batch := tr.Position()
	fmt.Println("position after the epoch:", epoch, batch)
	fmt.Println("mean loss finite and positive:", loss > 0 && !math.IsInf(loss, 0))
	// Output:
	// batches per epoch: 40
	// position after the epoch: 1 0
	// mean loss finite and positive: true
}

// Train with an evaluation after every epoch: accuracy, margins, ρ and
// certified radii from package verify.
func ExampleRun() {
	tr := smallTrainer(mnist500(0, 400))
	defer tr.Close()
	hist, err := train.Run(context.Background(), tr, train.RunConfig{Epochs: 2, Test: mnist500(400, 500)})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range hist {
		fmt.Printf("epoch %d: accuracy above chance %v, ρ finite %v\n", r.Epoch, r.Accuracy > 0.1 && r.Accuracy <= 1, r.Rho > 0 && !math.IsInf(r.Rho, 0))
	}
	// Output:
	// epoch 1: accuracy above chance true, ρ finite true
	// epoch 2: accuracy above chance true, ρ finite true
}

// Resume a run from its checkpoint: training goes on exactly as if it had
// not stopped.
func ExampleTrainer_Resume() {
	dir, err := os.MkdirTemp("", "lrrn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ckpt := filepath.Join(dir, "model.lrrn")
	data := mnist500(0, 400)

	// A first run of one epoch writes the checkpoint.
	tr := smallTrainer(data)
	if _, err := train.Run(context.Background(), tr, train.RunConfig{Epochs: 1, Checkpoint: ckpt}); err != nil {
		log.Fatal(err)
	}
	tr.Close()

	// Later: load it and train up to epoch 2.
	m, st, err := train.LoadCheckpoint(ckpt)
	if err != nil {
		log.Fatal(err)
	}
	o, err := st.Options()
	if err != nil {
		log.Fatal(err)
	}
	tr, err = train.New(m, data, o)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Resume(st); err != nil {
		log.Fatal(err)
	}
	epoch, _ := tr.Position()
	fmt.Println("resumed at epoch", epoch+1)
	hist, err := train.Run(context.Background(), tr, train.RunConfig{Epochs: 2, Checkpoint: ckpt, History: st.History})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs in the history:", len(hist))
	// Output:
	// resumed at epoch 2
	// epochs in the history: 2
}
