package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// syntheticData returns n random inputs of d values in [0,1] with labels
// 0 … classes−1 (the benchmarks time arithmetic, which does not depend on
// what the pixels show).
func syntheticData(n, d, classes int, seed uint64) *idx.Labelled {
	rng := rand.New(rand.NewPCG(seed, 1))
	data := &idx.Labelled{Images: idx.Images{N: n, Rows: 1, Cols: d, Pixels: make([]float32, n*d)}, Labels: make([]uint8, n)}
	for i := range data.Pixels {
		if rng.IntN(5) == 0 { // MNIST-like sparsity
			data.Pixels[i] = float32(rng.Float64())
		}
	}
	for i := range data.Labels {
		data.Labels[i] = uint8(rng.IntN(classes))
	}
	return data
}

func mnistConfig(sizes []int, beta []float64) lrrn.Config {
	acts := make([]lrrn.Activation, len(sizes)-1)
	for k := range acts {
		acts[k] = lrrn.ReLU
	}
	if beta[len(beta)-1] == 0 {
		acts[len(acts)-1] = lrrn.Linear
	}
	return lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: 0.125, Passes: 20}
}

// benchEpoch times mini-batches and reports seconds per 60,000-example
// epoch.
func benchEpoch(b *testing.B, mode Mode, sizes []int, beta []float64, workers int) {
	benchEpochSplit(b, mode, sizes, beta, workers, false)
}

func benchEpochSplit(b *testing.B, mode Mode, sizes []int, beta []float64, workers int, split bool) {
	benchSteps(b, sizes, beta, Options{Mode: mode, LR: 0.01, Batch: 10, WeightDecay: 1e-5, Passes: 20, Seed: 3, Workers: workers, Convention: DefaultConvention, SplitBatch: split})
}

// benchSteps times mini-batches of o on a random model and reports
// seconds per 60,000-example epoch.
func benchSteps(b *testing.B, sizes []int, beta []float64, o Options) {
	cfg := mnistConfig(sizes, beta)
	if o.Mode == Supervised {
		cfg.Acts[len(cfg.Acts)-1] = lrrn.Linear
	}
	m, err := lrrn.NewRandom(cfg, 1)
	require.NoError(b, err)
	data := syntheticData(max(2000, 4*o.Batch), sizes[0], sizes[len(sizes)-1], 2)
	tr, err := New(m, data, o)
	require.NoError(b, err)
	defer tr.Close()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
	}
	// Seconds per 60,000-example epoch: wall clock, and CPU time summed over
	// threads (the wall time a loaded machine cannot show; divide by the
	// workers for an unloaded machine's lower bound).
	steps := 60000 / float64(o.Batch)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*steps, "s/epoch")
	if cpu0 >= 0 {
		b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N)*steps, "cpu-s/epoch")
	}
}

func BenchmarkEpochSupervised(b *testing.B) {
	for _, w := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[w], func(b *testing.B) {
			benchEpoch(b, Supervised, []int{784, 64, 64, 10}, []float64{1, 1, 0}, w)
		})
	}
}

// BenchmarkEpochSupervisedSplitBatch is the data-parallel alternative:
// each worker runs both phases on half of the batch.
func BenchmarkEpochSupervisedSplitBatch(b *testing.B) {
	benchEpochSplit(b, Supervised, []int{784, 64, 64, 10}, []float64{1, 1, 0}, 2, true)
}

func BenchmarkEpochUnsupervised(b *testing.B) {
	for _, w := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[w], func(b *testing.B) {
			benchEpoch(b, Unsupervised, []int{784, 32, 32}, []float64{1, 1}, w)
		})
	}
}

// BenchmarkEpochRobust times certified-robust training (docs/training.md,
// "Objectives for certified margins"): β = 1 everywhere, the
// Lipschitz-margin cross-entropy objective, batch 64, 20 passes per phase,
// 2 workers, for widths 128 … 1024 (784-W-W-10).
func BenchmarkEpochRobust(b *testing.B) {
	for _, w := range []int{128, 256, 512, 1024} {
		b.Run(fmt.Sprintf("784-%d-%d-10", w, w), func(b *testing.B) {
			benchSteps(b, []int{784, w, w, 10}, []float64{1, 1, 1}, Options{Mode: Supervised, LR: 1, Batch: 64, WeightDecay: 1e-5, Passes: 20, Seed: 3, Workers: 2,
				Convention: DefaultConvention, Objective: Objective{Loss: CrossEntropy, Eps: 1.58, Temp: 0.5}})
		})
	}
}

// BenchmarkEpochRobustSym times the recipe of the shipped certified-robust
// model (results/README.md, robust-mnist-256-sym-lr128-s3-200): the
// Lipschitz-margin cross-entropy at ε_train 2 with the symmetric driven
// estimator (three phases), batch 64, 20 passes of 3 Gauss–Seidel sweeps
// per phase, 2 workers, for widths 256 … 1024 (784-W-W-10); second=10
// runs the ±α phases, which start from the free states, for 10 passes
// (Objective.Passes).
func BenchmarkEpochRobustSym(b *testing.B) {
	for _, w := range []int{256, 512, 1024} {
		for _, second := range []int{20, 10} {
			b.Run(fmt.Sprintf("784-%d-%d-10/second=%d", w, w, second), func(b *testing.B) {
				benchSteps(b, []int{784, w, w, 10}, []float64{1, 1, 1}, Options{Mode: Supervised, LR: 128, Batch: 64, WeightDecay: 6.25e-7, Passes: 20, Sweeps: 3, Seed: 3, Workers: 2,
					Convention: DefaultConvention, Objective: Objective{Loss: CrossEntropy, Eps: 2, Temp: 0.5, Nudge: 0.5, Est: Symmetric, Passes: second}})
			})
		}
	}
}
