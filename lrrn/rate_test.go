package lrrn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPassRate: PassRate estimates the contraction per pass of the
// unconstrained problem; on real inputs of the certified-robust model,
// where part of the units sit at their bound, the distance to the
// minimiser falls at least about as fast (measured from 5 to 15 passes,
// above the float32 floor). Both fall with the sweeps per pass.
func TestPassRate(t *testing.T) {
	s, dist := robustDistance(t, 16, 3, 150)
	prevEst, prevReal := 1.0, 1.0
	for S := 1; S <= 4; S++ {
		est := s.PassRate(S)
		real := math.Pow(dist(S, 15)/dist(S, 5), 0.1)
		t.Logf("%d sweeps: estimate %.3f, measured %.3f per pass", S, est, real)
		assert.Less(t, real, 1.05*est, "sweeps %d: real inputs converge slower than the estimate", S)
		assert.Less(t, est, prevEst, "sweeps %d", S)
		assert.Less(t, real, prevReal, "sweeps %d", S)
		prevEst, prevReal = est, real
	}
	// the same estimate whatever the solver's own setting
	require.NoError(t, s.SetSweeps(1))
	assert.Equal(t, prevEst, s.PassRate(4))
}

// TestAutoSweeps: one sweep for the paper's model (whose blocks converge
// within a pass: more sweeps only add work), four for the certified-
// robust model (BenchmarkCertifySweeps in package verify: 1.6× the
// images per second of one sweep); degenerate models get a count in
// range without a panic.
func TestAutoSweeps(t *testing.T) {
	for path, want := range map[string]int{
		"../testdata/mnist-784-64-64-10.bin":          1,
		"../testdata/mnist-robust-784-256-256-10.bin": 4,
	} {
		m, err := Load(path)
		require.NoError(t, err)
		s, err := NewSolver(m)
		require.NoError(t, err)
		assert.Equal(t, want, s.AutoSweeps(5), path)
		S, rate := s.AutoSweepsRate(5)
		assert.Equal(t, want, S, path)
		assert.Equal(t, s.PassRate(S), rate, "%s: the rate of the count chosen", path)
		assert.Equal(t, 1, s.Sweeps(), "AutoSweeps does not set the solver's sweeps")
	}
	for _, c := range []struct {
		sizes []int
		acts  []Activation
		beta  []float64
	}{
		{[]int{5, 3}, []Activation{Linear}, []float64{0}}, // nothing to infer (reduced)
		{[]int{5, 3}, []Activation{ReLU}, []float64{1}},   // one block
		{[]int{6, 4, 3}, []Activation{ReLU, Linear}, []float64{1, 0}},
		{[]int{6, 9, 7, 3}, []Activation{ReLU, ReLU, ReLU}, []float64{0.5, 2, 1}},
	} {
		for _, ws := range []float64{0, 0.1, 1, 10} {
			m := randomModel(c.sizes, c.acts, c.beta, 0.25, 3, ws)
			s, err := NewSolver(m)
			require.NoError(t, err)
			for S := 1; S <= 4; S++ {
				r := s.PassRate(S)
				assert.True(t, r >= 0 && r < 1, "%v ×%g: rate %v at %d sweeps", c.sizes, ws, r, S)
			}
			got := s.AutoSweeps(5)
			assert.True(t, got >= 1 && got <= 4, "%v ×%g: %d", c.sizes, ws, got)
		}
	}
}
