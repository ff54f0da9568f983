package lrrn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFreeDrivenFromMinimisesDrivenEnergy checks FreeDrivenFrom against
// the optimality condition of E_u(z) = E(z) − γ^{L−1}⟨u, z_L⟩, with the
// float64 gradient of the tests' problem helper: after many passes the
// min-norm subgradient of E_u is at float32 rounding level, while that of
// E (the undriven energy) is not — the drive moved the minimiser — and a
// zero drive gives ContinueFree's states bit for bit. Both start from the
// same free states (Free is deterministic).
func TestFreeDrivenFromMinimisesDrivenEnergy(t *testing.T) { forEachTier(t, testFreeDrivenFrom) }

func testFreeDrivenFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tested := 0
	for _, tc := range testModels() {
		m := tc.model
		if m.ReducedOutput() {
			continue
		}
		tested++
		s, err := NewSolver(m)
		require.NoError(t, err)
		const n = 3
		L := m.L()
		dL := m.Sizes[L]
		x := make([]float32, 0, n*m.Sizes[0])
		for range n {
			x = append(x, randomInput(m.Sizes[0], rng)...)
		}
		drive := make([]float32, n*dL)
		for i := range drive {
			drive[i] = float32(rng.NormFloat64())
		}
		fromFree := func() *States {
			st := s.NewStates(n)
			require.NoError(t, s.Free(nil, x, n, 50, st))
			return st
		}
		driven := fromFree()
		require.NoError(t, s.FreeDrivenFrom(nil, x, drive, n, 400, driven))

		gL := math.Pow(m.Gamma, float64(L-1))
		for i := range n {
			p := problem{m: m, x: x[i*m.Sizes[0] : (i+1)*m.Sizes[0]]}
			z := flatten(stateOf(driven, i), p.last())
			_, g := p.grad64(z, nil)
			lo, hi := p.bounds()
			undriven := minNormSubgrad(g, z, lo, hi)
			out := g[len(g)-dL:] // z_L is the last block
			for j := range out {
				out[j] -= gL * float64(drive[i*dL+j])
			}
			res := minNormSubgrad(g, z, lo, hi)
			var scale float64
			for _, v := range z {
				scale = math.Max(scale, math.Abs(v))
			}
			assert.Less(t, res, 1e-4*(1+scale), "%s input %d: ‖∂E_u‖ = %g at the driven state", tc.name, i, res)
			assert.Greater(t, undriven, 100*res, "%s input %d: the drive did not move the minimiser (‖∂E‖ = %g, ‖∂E_u‖ = %g)", tc.name, i, undriven, res)
		}

		zero, cont := fromFree(), fromFree()
		require.NoError(t, s.FreeDrivenFrom(nil, x, make([]float32, n*dL), n, 7, zero))
		require.NoError(t, s.ContinueFree(nil, x, n, 7, cont))
		for k := 1; k <= L; k++ {
			require.Equal(t, cont.Z[k], zero.Z[k], "%s layer %d: a zero drive must be ContinueFree", tc.name, k)
		}
	}
	require.Positive(t, tested)
}

func TestFreeDrivenFromErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	full := randomModel([]int{7, 6, 5, 3}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 1}, 0.5, 1, 1)
	s, err := NewSolver(full)
	require.NoError(t, err)
	x := randomInput(7, rng)
	st := s.NewStates(1)
	require.NoError(t, s.Free(nil, x, 1, 5, st))
	require.ErrorIs(t, s.FreeDrivenFrom(nil, x, make([]float32, 2), 1, 5, st), ErrShape, "short drive")
	require.ErrorIs(t, s.FreeDrivenFrom(nil, x[:6], make([]float32, 3), 1, 5, st), ErrShape, "short input")
	other := s.NewStates(2)
	require.ErrorIs(t, s.FreeDrivenFrom(nil, x, make([]float32, 3), 1, 5, other), ErrShape, "states of another size")

	reduced := randomModel([]int{7, 6, 5, 3}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.5, 1, 1)
	rs, err := NewSolver(reduced)
	require.NoError(t, err)
	rst := rs.NewStates(1)
	require.NoError(t, rs.Free(nil, x, 1, 5, rst))
	err = rs.FreeDrivenFrom(nil, x, make([]float32, 3), 1, 5, rst)
	require.ErrorIs(t, err, ErrShape)
	assert.Contains(t, err.Error(), "reconstructing output layer")
}
