package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// tinySetup returns a small supervised problem: a 16-8-6-4 model and 120
// synthetic examples whose label depends on the input, so that training
// does something.
func tinySetup(t testing.TB, seed uint64) (*lrrn.Model, *idx.Labelled) {
	m, err := lrrn.NewRandom(mnistConfig([]int{16, 8, 6, 4}, []float64{1, 1, 0}), seed)
	require.NoError(t, err)
	d := syntheticData(120, 16, 4, seed+1)
	for i := 0; i < d.N; i++ {
		x := d.Pixels[i*16 : (i+1)*16]
		best := 0
		for c := 1; c < 4; c++ {
			if x[4*c]+x[4*c+1] > x[4*best]+x[4*best+1] {
				best = c
			}
		}
		d.Labels[i] = uint8(best)
	}
	return m, d
}

func tinyOptions(workers int) Options {
	return Options{Mode: Supervised, LR: 0.2, Batch: 7, WeightDecay: 1e-3, Passes: 10, Seed: 42, Workers: workers, Convention: DefaultConvention}
}

func trainEpochs(t testing.TB, m *lrrn.Model, d *idx.Labelled, o Options, epochs int) {
	tr, err := New(m, d, o)
	require.NoError(t, err)
	defer tr.Close()
	for e := 0; e < epochs; e++ {
		_, err := tr.RunEpoch(context.Background(), nil)
		require.NoError(t, err)
	}
}

func requireSameWeights(t testing.TB, a, b *lrrn.Model) {
	for k := range a.W {
		for i := range a.W[k] {
			if math.Float32bits(a.W[k][i]) != math.Float32bits(b.W[k][i]) {
				t.Fatalf("W_%d[%d] differs: %v vs %v", k, i, a.W[k][i], b.W[k][i])
			}
		}
		for i := range a.B[k] {
			if math.Float32bits(a.B[k][i]) != math.Float32bits(b.B[k][i]) {
				t.Fatalf("b_%d[%d] differs: %v vs %v", k, i, a.B[k][i], b.B[k][i])
			}
		}
	}
}

func TestSameSeedSameResult(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		m1, d := tinySetup(t, 1)
		m2, _ := tinySetup(t, 1)
		init := m1.Clone()
		trainEpochs(t, m1, d, tinyOptions(workers), 3)
		trainEpochs(t, m2, d, tinyOptions(workers), 3)
		requireSameWeights(t, m1, m2)
		// and training changed the weights
		require.NotEqual(t, init.W[0], m1.W[0])
	}
	// Unsupervised as well, with its data-parallel split.
	for _, workers := range []int{1, 2} {
		var ms [2]*lrrn.Model
		for i := range ms {
			m, err := lrrn.NewRandom(mnistConfig([]int{16, 8, 6}, []float64{1, 1}), 3)
			require.NoError(t, err)
			o := tinyOptions(workers)
			o.Mode, o.LR = Unsupervised, 0.01
			_, d := tinySetup(t, 1)
			trainEpochs(t, m, d, o, 2)
			ms[i] = m
		}
		requireSameWeights(t, ms[0], ms[1])
	}
}

// TestSerialAndParallelAgree: two workers run the same algorithm as one
// (phases in parallel, gradient rows split); only the summation order of
// the stacked products can differ, so the weights agree to rounding.
func TestSerialAndParallelAgree(t *testing.T) {
	m1, d := tinySetup(t, 1)
	m2, _ := tinySetup(t, 1)
	trainEpochs(t, m1, d, tinyOptions(1), 2)
	trainEpochs(t, m2, d, tinyOptions(2), 2)
	for k := range m1.W {
		for i := range m1.W[k] {
			require.InDelta(t, m1.W[k][i], m2.W[k][i], 1e-4, "W_%d[%d]", k, i)
		}
	}
}

func TestResumeIsExact(t *testing.T) {
	dir := t.TempDir()
	for _, workers := range []int{1, 2} {
		// Uninterrupted: 3 epochs.
		mA, d := tinySetup(t, 5)
		trA, err := New(mA, d, tinyOptions(workers))
		require.NoError(t, err)
		_, err = Run(context.Background(), trA, RunConfig{Epochs: 3, Dataset: "tiny"})
		require.NoError(t, err)
		trA.Close()

		// Interrupted in the middle of epoch 2, then resumed.
		ckpt := filepath.Join(dir, "ckpt.lrrn")
		mB, _ := tinySetup(t, 5)
		trB, err := New(mB, d, tinyOptions(workers))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		_, err = Run(ctx, trB, RunConfig{Epochs: 3, Checkpoint: ckpt, Dataset: "tiny", Progress: func(p Progress) {
			if p.Epoch == 2 && p.Batch == 5 {
				cancel()
			}
		}})
		require.ErrorIs(t, err, context.Canceled)
		trB.Close()

		mC, st, err := LoadCheckpoint(ckpt)
		require.NoError(t, err)
		require.Equal(t, 1, st.Epoch)
		require.Equal(t, 5, st.Batch)
		require.Len(t, st.History, 1)
		o, err := st.Options()
		require.NoError(t, err)
		require.Equal(t, tinyOptions(workers), o)
		trC, err := New(mC, d, o)
		require.NoError(t, err)
		require.NoError(t, trC.Resume(st))
		hist, err := Run(context.Background(), trC, RunConfig{Epochs: 3, Checkpoint: ckpt, Dataset: "tiny", History: st.History})
		require.NoError(t, err)
		trC.Close()
		require.Len(t, hist, 3)
		requireSameWeights(t, mA, mC)
		require.Equal(t, trA.LastEpochLoss(), hist[2].Loss, "epoch 3 loss")
		final, st2, err := LoadCheckpoint(ckpt)
		require.NoError(t, err)
		require.Equal(t, 3, st2.Epoch)
		requireSameWeights(t, mA, final)
	}
}

// TestNaNKeepsLastGoodCheckpoint injects a NaN into a batch of epoch 2:
// training stops with a DivergedError naming epoch 2, the model is the one
// before that batch (finite) and the checkpoint of epoch 1 is untouched.
func TestNaNKeepsLastGoodCheckpoint(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "ckpt.lrrn")
	m, d := tinySetup(t, 7)
	tr, err := New(m, d, tinyOptions(2))
	require.NoError(t, err)
	defer tr.Close()
	var after1 []byte
	_, err = Run(context.Background(), tr, RunConfig{Epochs: 5, Checkpoint: ckpt, Dataset: "tiny",
		OnEpoch: func(r EpochRecord) {
			if r.Epoch == 1 {
				b, rerr := os.ReadFile(ckpt)
				require.NoError(t, rerr)
				after1 = b
			}
		},
		Progress: func(p Progress) {
			if p.Epoch == 2 && p.Batch == 3 {
				for i := range d.Pixels { // every input: whichever batch comes next has a NaN
					if i%16 == 3 {
						d.Pixels[i] = float32(math.NaN())
					}
				}
			}
		}})
	var div *DivergedError
	require.ErrorAs(t, err, &div)
	require.ErrorIs(t, err, ErrDiverged)
	require.Equal(t, 2, div.Epoch)
	require.Equal(t, 4, div.Batch)
	require.Equal(t, 1, div.LastGood)
	now, err := os.ReadFile(ckpt)
	require.NoError(t, err)
	require.True(t, bytes.Equal(after1, now), "the checkpoint of epoch 1 was overwritten")
	require.NoError(t, m.Validate(), "the model must be left finite")
}

func TestDivergingLearningRate(t *testing.T) {
	m, d := tinySetup(t, 9)
	o := tinyOptions(1)
	o.LR = 1e6
	tr, err := New(m, d, o)
	require.NoError(t, err)
	_, err = Run(context.Background(), tr, RunConfig{Epochs: 20})
	require.ErrorIs(t, err, ErrDiverged)
	require.NoError(t, m.Validate())
}

func TestBadOptions(t *testing.T) {
	m, d := tinySetup(t, 1)
	good := tinyOptions(1)
	for name, tc := range map[string]struct {
		mod  func(o *Options, d *idx.Labelled)
		want string
	}{
		"lr":       {func(o *Options, d *idx.Labelled) { o.LR = 0 }, "learning rate"},
		"lr nan":   {func(o *Options, d *idx.Labelled) { o.LR = math.NaN() }, "learning rate"},
		"decay":    {func(o *Options, d *idx.Labelled) { o.WeightDecay = -1 }, "weight decay"},
		"batch":    {func(o *Options, d *idx.Labelled) { o.Batch = 1000 }, "batch size"},
		"passes":   {func(o *Options, d *idx.Labelled) { o.Passes = 0 }, "passes"},
		"workers":  {func(o *Options, d *idx.Labelled) { o.Workers = -1 }, "workers"},
		"sweeps":   {func(o *Options, d *idx.Labelled) { o.Sweeps = -1 }, "sweeps"},
		"sweeps64": {func(o *Options, d *idx.Labelled) { o.Sweeps = 65 }, "sweeps"},
		"label":    {func(o *Options, d *idx.Labelled) { d.Labels[3] = 9 }, "label 9 of input 3"},
		"shape":    {func(o *Options, d *idx.Labelled) { d.Pixels = d.Pixels[:10] }, "pixels for"},
		"mode":     {func(o *Options, d *idx.Labelled) { o.Mode = 7 }, "mode"},
		"input":    {func(o *Options, d *idx.Labelled) { d.Cols, d.N, d.Labels = 8, 240, append(d.Labels, d.Labels...) }, "first layer"},
		"no label": {func(o *Options, d *idx.Labelled) { d.Labels = d.Labels[:5] }, "labels"},
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			dd := *d
			dd.Labels = append([]uint8(nil), d.Labels...)
			tc.mod(&o, &dd)
			_, err := New(m, &dd, o)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := ParseConvention("median")
	require.Error(t, err)
	c, err := ParseConvention("sum,gamma,decay=10")
	require.NoError(t, err)
	require.Equal(t, Convention{Sum: true, GammaDiv: true, DecayScale: 10}, c)
	require.Equal(t, "sum,gamma,decay=10", c.String())
	_, _, err = LoadCheckpoint(filepath.Join(t.TempDir(), "absent"))
	require.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}

func TestStepAllocations(t *testing.T) {
	for _, workers := range []int{1, 2} {
		m, d := tinySetup(t, 3)
		tr, err := New(m, d, tinyOptions(workers))
		require.NoError(t, err)
		_, err = tr.Step() // first call: Refresh's scratch
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		})
		tr.Close()
		t.Logf("workers=%d: %.1f allocations per step", workers, allocs)
		require.LessOrEqual(t, allocs, 0.0, "workers=%d", workers)
	}
}

// TestEpochRecordOldEstimateKey: histories written before the renaming of
// rho_seed_style (checkpoints of runs in progress) still read.
func TestEpochRecordOldEstimateKey(t *testing.T) {
	var r EpochRecord
	require.NoError(t, json.Unmarshal([]byte(`{"epoch":3,"rho":2.5,"rho_seed_style":2.4}`), &r))
	require.Equal(t, 2.4, r.RhoEstimate)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"rho_estimate_not_sound":2.4`)
	require.NotContains(t, string(b), "seed")
}

// TestEvalAsNeeded: RunConfig.EvalPasses = EvalAsNeeded records the
// evaluation of verify's default (passes as needed), not that of the
// trainer's passes — here 1 pass, far from converged.
func TestEvalAsNeeded(t *testing.T) {
	run := func(evalPasses int) (EpochRecord, *lrrn.Model) {
		m, d := tinySetup(t, 5)
		o := tinyOptions(1)
		o.Passes = 1
		tr, err := New(m, d, o)
		require.NoError(t, err)
		defer tr.Close()
		hist, err := Run(context.Background(), tr, RunConfig{Epochs: 1, Test: d, EvalPasses: evalPasses})
		require.NoError(t, err)
		require.Len(t, hist, 1)
		return hist[0], m
	}
	fixed, m := run(0)
	auto, _ := run(EvalAsNeeded)
	conv, err := Evaluate(m, syntheticOf(t), 0, 1)
	require.NoError(t, err)
	one, err := Evaluate(m, syntheticOf(t), 1, 1)
	require.NoError(t, err)
	require.Equal(t, conv.MeanMargin, auto.MeanMargin)
	require.Equal(t, conv.MedianRadius, auto.MedianRadius)
	require.Equal(t, one.MeanMargin, fixed.MeanMargin)
	require.NotEqual(t, fixed.MeanMargin, auto.MeanMargin, "1 pass is not converged: the margins differ")

	m2, d2 := tinySetup(t, 5)
	tr, err := New(m2, d2, tinyOptions(1))
	require.NoError(t, err)
	defer tr.Close()
	_, err = Run(context.Background(), tr, RunConfig{Epochs: 1, Test: d2, EvalPasses: -2})
	require.ErrorContains(t, err, "evaluation passes")
}

// syntheticOf returns tinySetup's data set.
func syntheticOf(t *testing.T) *idx.Labelled {
	_, d := tinySetup(t, 5)
	return d
}
