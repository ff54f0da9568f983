package train_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/lrrn"
	. "github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/require"
)

// TestShortMNISTRunLearns: the paper's network (784-64-64-10, β = [1,1,0],
// γ = 1/8, batch 10, 20 passes, lr 0.4) trained with the γ-divided mean
// gradient ∇J (the fastest start of the conventions in docs/training.md)
// reaches ≥ 90% on the 10,000 MNIST test images after 2 epochs on the
// first 5,000 training images, in under a minute. (Measured: 91.2%; the
// first 2,000 test images alone are harder, 88.6%.)
func TestShortMNISTRunLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the MNIST training run")
	}
	// installed or cached only: tests do not download
	trs, tes, err := (&dataset.Fetcher{Offline: true}).Load(dataset.MNIST, "")
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("skipping: MNIST is not installed or cached: %v", err)
	}
	require.NoError(t, err)
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, 64, 64, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, 1)
	require.NoError(t, err)
	start := time.Now()
	tr, err := New(m, trs.Slice(0, 5000), Options{Mode: Supervised, LR: testLR, Batch: 10, WeightDecay: 1e-5, Passes: 20, Seed: 1, Convention: testConvention})
	require.NoError(t, err)
	defer tr.Close()
	hist, err := Run(context.Background(), tr, RunConfig{Epochs: 2, Test: &tes.Labelled})
	require.NoError(t, err)
	el := time.Since(start)
	for _, r := range hist {
		t.Logf("epoch %d: loss %.4f, held-out accuracy %.2f%%, ρ %.3f, %.1fs", r.Epoch, r.Loss, 100*r.Accuracy, r.Rho, r.Seconds)
	}
	require.GreaterOrEqual(t, hist[1].Accuracy, 0.90)
	require.Less(t, el, time.Minute)
}

var (
	testConvention = Convention{GammaDiv: true, DecayScale: 1}
	testLR         = 0.4
)
