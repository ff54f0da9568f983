package attack

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFactorUpdates walks through faces that differ by a few units, so
// that the cache reaches them by row additions and removals, and checks
// each factor's solve against a fresh factorisation of H_FF. Both are
// backward stable; with κ(H_FF) ≤ κ(H) the solutions agree to
// κ·(n + updates)·u relative, far below the 1e-9 asserted here for these
// models (κ(H) < 10³).
func TestFactorUpdates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for mi, m := range []*lrrn.Model{
		randomModel(t, []int{40, 64, 64, 5}, []lrrn.Activation{R, R, Lin}, []float64{1, 1, 1}, 0.125, 31),
		randomModel(t, []int{40, 96, 24}, []lrrn.Activation{H, Lin}, []float64{0.25, 0}, 0.5, 32),
	} {
		e, err := NewExact(m)
		require.NoError(t, err)
		N := e.Size()
		for _, capacity := range []int{0, 1} { // default, and one entry (updated in place)
			c := newFactorCache(N)
			if capacity > 0 {
				c.cap = capacity
			}
			in := make([]bool, N)
			for i := range in {
				in[i] = rng.IntN(3) > 0
			}
			for step := 0; step < 60; step++ {
				for k := rng.IntN(4); k >= 0; k-- { // 1 … 4 units (≤ maxUpdates here)
					i := rng.IntN(N)
					in[i] = !in[i]
				}
				var free []int
				for i, v := range in {
					if v {
						free = append(free, i)
					}
				}
				f := c.get(e, free)
				require.NotNil(t, f)
				require.ElementsMatch(t, free, f.pos, "model %d step %d", mi, step)
				n := len(free)
				b := make([]float64, n)
				for i := range b {
					b[i] = rng.NormFloat64()
				}
				x := slices.Clone(b)
				f.solve(x) // x in f.pos order; b as well
				a := make([]float64, n*n)
				for r, i := range f.pos {
					for q, j := range f.pos {
						a[r*n+q] = e.h[i*N+j]
					}
				}
				require.NoError(t, linalg.Cholesky(a, n, nil))
				want := slices.Clone(b)
				linalg.CholeskySolve(a, n, want)
				var d2, w2 float64
				for i := range x {
					d2 += (x[i] - want[i]) * (x[i] - want[i])
					w2 += want[i] * want[i]
				}
				require.LessOrEqual(t, d2, 1e-18*w2, "model %d cache %d step %d: updated factor's solve differs", mi, c.cap, step)
			}
			assert.Greater(t, c.updates, 20, "model %d: the walk did not exercise updates", mi)
			t.Logf("model %d, cache of %d: %d fresh factorisations, %d updates", mi, c.cap, c.misses, c.updates)
		}
	}
}
