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

// subset returns inputs [lo, hi) of d.
func subset(d *Data, lo, hi int) *Data {
	return &Data{X: d.X[lo*d.D : hi*d.D], Labels: d.Labels[lo:hi], N: hi - lo, D: d.D}
}

// TestShortMNISTRunLearns: the seed's network and hyperparameters (784-64-
// 64-10, β = [1,1,0], γ = 1/8, lr 0.4, batch 10, 20 passes, the default
// convention) reach ≥ 90% on 2,000 held-out test images after 2 epochs on
// 5,000 training images, in under a minute.
func TestShortMNISTRunLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the MNIST training run")
	}
	trs, tes, err := dataset.Load(dataset.MNIST, "")
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	trainSet := &Data{X: trs.Pixels, Labels: trs.Labels, N: trs.N, D: trs.Dim()}
	testSet := &Data{X: tes.Pixels, Labels: tes.Labels, N: tes.N, D: tes.Dim()}
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, 64, 64, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, 1)
	require.NoError(t, err)
	start := time.Now()
	tr, err := New(m, subset(trainSet, 0, 5000), Options{Mode: Supervised, LR: 0.4, Batch: 10, WeightDecay: 1e-5, Passes: 20, Seed: 1, Convention: testConvention})
	require.NoError(t, err)
	defer tr.Close()
	hist, err := Run(context.Background(), tr, RunConfig{Epochs: 2, Test: subset(testSet, 0, 2000)})
	require.NoError(t, err)
	el := time.Since(start)
	for _, r := range hist {
		t.Logf("epoch %d: loss %.4f, held-out accuracy %.2f%%, ρ %.3f, %.1fs", r.Epoch, r.Loss, 100*r.Accuracy, r.Rho, r.Seconds)
	}
	require.GreaterOrEqual(t, hist[1].Accuracy, 0.90)
	require.Less(t, el, time.Minute)
}

var testConvention = Convention{Sum: true, GammaDiv: true, DecayScale: 1}
