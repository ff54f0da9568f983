package verify

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sameCert(t *testing.T, want, got Certificate, msg string, args ...any) {
	t.Helper()
	// NaN PairRadius (not applicable) compares unequal to itself.
	if math.IsNaN(want.PairRadius) && math.IsNaN(got.PairRadius) {
		want.PairRadius, got.PairRadius = 0, 0
	}
	require.Equal(t, want, got, append([]any{msg}, args...)...)
}

// TestConcurrentUse shares one Certifier between goroutines mixing single
// and batch calls (run it with -race); every result must equal the one of
// the same call made alone.
func TestConcurrentUse(t *testing.T) {
	m, _ := trainedModel(t)
	im, labels := mnistFixture(t)
	c, err := New(m, Options{Workers: 3, Adaptive: true, Passes: 3})
	require.NoError(t, err)
	n := 150
	if testing.Short() {
		n = 70
	}
	wantBatch := make([]Certificate, n)
	require.NoError(t, c.CertifyBatch(context.Background(), im.Pixels[:n*784], labels[:n], wantBatch))
	wantSingle := make([]Certificate, n)
	for i := range wantSingle {
		wantSingle[i], err = c.Certify(im.Image(i), labels[i])
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g%2 == 0 {
				got := make([]Certificate, n)
				if assert.NoError(t, c.CertifyBatch(context.Background(), im.Pixels[:n*784], labels[:n], got)) {
					for i := range got {
						sameCert(t, wantBatch[i], got[i], "goroutine %d batch input %d", g, i)
					}
				}
				return
			}
			for i := g; i < n; i += 3 {
				got, err := c.Certify(im.Image(i), labels[i])
				if assert.NoError(t, err) {
					sameCert(t, wantSingle[i], got, "goroutine %d input %d", g, i)
				}
			}
		}()
	}
	wg.Wait()
}

// TestNoAllocationPerInput: in steady state, certifying does not allocate
// per input: single calls and one-worker batches (also adaptive) not at
// all, multi-worker batches a constant per call (the goroutines).
func TestNoAllocationPerInput(t *testing.T) {
	m, _ := trainedModel(t)
	im, labels := mnistFixture(t)
	for _, o := range []Options{{Workers: 1}, {Workers: 1, Adaptive: true, Passes: 2}} {
		c, err := New(m, o)
		require.NoError(t, err)
		x := im.Image(3)
		allocs := testing.AllocsPerRun(20, func() { _, _ = c.Certify(x, labels[3]) })
		assert.Zero(t, allocs, "single, %+v", o)
		out := make([]Certificate, 200)
		allocs = testing.AllocsPerRun(5, func() {
			_ = c.CertifyBatch(context.Background(), im.Pixels[:200*784], labels[:200], out)
		})
		assert.Zero(t, allocs, "batch, %+v", o)
	}
	c, err := New(m, Options{Workers: 2})
	require.NoError(t, err)
	per := func(n int) float64 {
		out := make([]Certificate, n)
		return testing.AllocsPerRun(30, func() {
			_ = c.CertifyBatch(context.Background(), im.Pixels[:n*784], nil, out)
		})
	}
	per(500) // warm the scratch free list
	small, large := per(128), per(500)
	// A job, its WaitGroup and the workers' closures: about 4 per call,
	// whatever the batch size.
	assert.LessOrEqual(t, large, small+1, "allocations grow with the batch: %v for 128 inputs, %v for 500", small, large)
	assert.LessOrEqual(t, large, 6.0)
}

func TestCancellation(t *testing.T) {
	m, _ := trainedModel(t)
	im, _ := mnistFixture(t)
	for _, w := range []int{1, 2} {
		c, err := New(m, Options{Workers: w})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		out := make([]Certificate, 500)
		assert.ErrorIs(t, c.CertifyBatch(ctx, im.Pixels, nil, out), context.Canceled)
		// Cancel while running: a large batch (the fixture repeated).
		big := make([]float32, 0, 20*len(im.Pixels))
		for i := 0; i < 20; i++ {
			big = append(big, im.Pixels...)
		}
		out = make([]Certificate, len(big)/784)
		ctx, cancel = context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.CertifyBatch(ctx, big, nil, out) }()
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	}
}

func TestInputErrors(t *testing.T) {
	m, _ := trainedModel(t)
	c, err := New(m, Options{})
	require.NoError(t, err)
	_, err = c.Certify(make([]float32, 783), 0)
	assert.ErrorIs(t, err, ErrInput)
	_, err = c.Certify(make([]float32, 784), 10)
	assert.ErrorIs(t, err, ErrInput)
	_, err = c.Certify(make([]float32, 784), -2)
	assert.ErrorIs(t, err, ErrInput)
	x := make([]float32, 784)
	x[5] = float32(math.NaN())
	_, err = c.Certify(x, 1)
	assert.ErrorIs(t, err, ErrInput)
	out := make([]Certificate, 3)
	xs := make([]float32, 3*784)
	xs[2*784+1] = float32(math.Inf(-1))
	err = c.CertifyBatch(context.Background(), xs, nil, out)
	assert.ErrorIs(t, err, ErrInput)
	assert.ErrorContains(t, err, "input 2")
	assert.False(t, out[2].Certified)
	assert.True(t, out[0].Pred >= 0)
	assert.ErrorIs(t, c.CertifyBatch(context.Background(), xs[:100], nil, out), ErrInput)
	assert.ErrorIs(t, c.CertifyBatch(context.Background(), make([]float32, 3*784), []int{1, 2}, out), ErrInput)
	assert.ErrorIs(t, c.CertifyBatch(context.Background(), make([]float32, 3*784), []int{1, 2, 11}, out), ErrInput)
	// Huge but finite values overflow float32 norms; they are certified
	// (or abstained) soundly, not rejected.
	x = make([]float32, 784)
	x[0] = 3e38
	_, err = c.Certify(x, 1)
	assert.NoError(t, err)

	one, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{4, 1}, Acts: []lrrn.Activation{lrrn.Linear}, Beta: []float64{0}, Gamma: 1, Passes: 1}, 1)
	require.NoError(t, err)
	_, err = New(one, Options{})
	assert.ErrorContains(t, err, "at least 2")
	_, err = New(m, Options{Workers: -1})
	assert.Error(t, err)
	_, err = New(nil, Options{})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, ErrInput))
}
