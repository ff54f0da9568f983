package lrrn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSweepsConvergeFaster: on the shipped certified-robust model, whose
// weights are large (σ_max(W_0) ≈ 7), a block's own Gauss–Seidel sweeps
// are what converges slowly. A pass with one sweep costs about 4 d×d
// products per input (c_1, c_2 and the two 256-unit sweeps), with three
// sweeps about 8: so 3 sweeps × 20 passes cost what 1 sweep × 40 passes
// does, and must come closer to the minimiser — at least 2×: the pass
// rates (TestPassRate) predict (ρ_3^20)/(ρ_1^40) ≈ 0.4, and real inputs
// converge faster than the estimate. With more passes both reach the
// same minimiser. A tile of 16 inputs runs through the blocked sweep,
// which overwrites its right-hand side: a sweep that reused it would
// diverge. (16 inputs keep the test short under qemu's emulation.)
func TestSweepsConvergeFaster(t *testing.T) {
	s, dist := robustDistance(t, 16, 3, 300)
	one20, one40, three20 := dist(1, 20), dist(1, 40), dist(3, 20)
	t.Logf("rms distance to the 3-sweep 300-pass state: 1 sweep 20 passes %.3g, 40 passes %.3g; 3 sweeps 20 passes %.3g", one20, one40, three20)
	assert.Less(t, three20, one40/2, "3 sweeps × 20 passes against 1 sweep × 40 passes")
	one300 := dist(1, 300)
	t.Logf("1 sweep 300 passes %.3g", one300)
	assert.Less(t, one300, 1e-4, "1 sweep reaches the same minimiser")
	require.Equal(t, 1, s.Sweeps())
}

func TestSetSweeps(t *testing.T) {
	m := randomModel([]int{7, 6, 5, 3}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.5, 1, 1)
	s, err := NewSolver(m)
	require.NoError(t, err)
	require.Equal(t, 1, s.Sweeps())
	require.Error(t, s.SetSweeps(0))
	require.Error(t, s.SetSweeps(MaxSweeps+1))
	require.NoError(t, s.SetSweeps(MaxSweeps))
	require.Equal(t, MaxSweeps, s.Sweeps())
}
