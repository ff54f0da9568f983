package lrrn

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefreshMatchesNewSolver changes the weights and checks that Refresh
// (whole, and in parts) gives the plans a new solver computes, to float32
// rounding of a d-term sum, and that it does not allocate.
func TestRefreshMatchesNewSolver(t *testing.T) {
	for _, tc := range testModels() {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model.Clone()
			s, err := NewSolver(m)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(5, 6))
			for k := range m.W {
				for i := range m.W[k] {
					m.W[k][i] += float32(0.2 * rng.NormFloat64())
				}
				for i := range m.B[k] {
					m.B[k][i] += float32(0.2 * rng.NormFloat64())
				}
			}
			fresh, err := NewSolver(m)
			require.NoError(t, err)
			for _, parts := range []int{1, 2, 3} {
				s.RefreshParallel(parts, runConcurrently(parts))
				for pi, pl := range []*plan{&s.free, &s.clamped} {
					want := []*plan{&fresh.free, &fresh.clamped}[pi]
					for li := range pl.layers {
						a, b := &pl.layers[li], &want.layers[li]
						tol := func(v []float32) float64 { // a sum of up to max d terms
							var mx float64
							for _, x := range v {
								mx = math.Max(mx, math.Abs(float64(x)))
							}
							return 1e-6 * float64(len(m.Sizes)) * math.Max(1, mx) * float64(8)
						}
						for name, pair := range map[string][2][]float32{"h": {a.h, b.h}, "invH": {a.invH, b.invH}, "p": {a.p, b.p}, "q": {a.q, b.q}, "e": {a.e, b.e}} {
							require.Len(t, pair[0], len(pair[1]), name)
							tl := tol(pair[1])
							for i := range pair[0] {
								require.InDelta(t, pair[1][i], pair[0][i], tl, "%s[%d] of layer %d, parts=%d", name, i, a.k, parts)
							}
						}
					}
				}
			}
			allocs := testing.AllocsPerRun(5, s.Refresh)
			require.Zero(t, allocs)
			seq := func(f func(int)) { f(0); f(1) }
			allocs = testing.AllocsPerRun(5, func() { s.RefreshParallel(2, seq) })
			require.Zero(t, allocs)
		})
	}
}

// TestResetChecksConfiguration: Reset accepts a copy and refuses another
// architecture.
func TestResetChecksConfiguration(t *testing.T) {
	m := testModels()[0].model
	s, err := NewSolver(m)
	require.NoError(t, err)
	require.NoError(t, s.Reset(m.Clone()))
	other := randomModel([]int{7, 6, 4, 3}, m.Acts, m.Beta, m.Gamma, 1, 1)
	require.ErrorIs(t, s.Reset(other), ErrShape)
}

// runConcurrently returns a RefreshParallel runner that calls every part
// on a goroutine of its own.
func runConcurrently(parts int) func(func(int)) {
	return func(f func(int)) {
		var wg sync.WaitGroup
		for p := 0; p < parts; p++ {
			wg.Add(1)
			go func() { defer wg.Done(); f(p) }()
		}
		wg.Wait()
	}
}

// TestRefreshParallelIsDeterministic: splitting the Gram products into
// pieces run concurrently gives the bits of running them in sequence.
func TestRefreshParallelIsDeterministic(t *testing.T) {
	m := testModels()[0].model.Clone()
	a, err := NewSolver(m)
	require.NoError(t, err)
	b, err := NewSolver(m)
	require.NoError(t, err)
	for _, parts := range []int{1, 2, 5} {
		a.RefreshParallel(parts, func(f func(int)) {
			for p := parts - 1; p >= 0; p-- {
				f(p)
			}
		})
		b.RefreshParallel(parts, runConcurrently(parts))
		for pi, pl := range []*plan{&a.free, &a.clamped} {
			other := []*plan{&b.free, &b.clamped}[pi]
			for li := range pl.layers {
				x, y := &pl.layers[li], &other.layers[li]
				require.Equal(t, x.h, y.h, "h of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.invH, y.invH, "invH of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.p, y.p, "p of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.q, y.q, "q of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.e, y.e, "e of layer %d, parts=%d", x.k, parts)
			}
		}
	}
	require.Panics(t, func() { a.RefreshParallel(0, func(func(int)) {}) })
}
