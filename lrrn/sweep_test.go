package lrrn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkSizes returns the layer sizes that test a chunk of b units: one
// less, equal, one more, and two chunks and a remainder of 3.
func chunkSizes(b int) []int { return []int{b - 1, b, b + 1, 2*b + 3} }

// TestBlockedSweepIsGaussSeidel: one blocked sweep equals, bit for bit,
// the unit-by-unit sweep of the solver and a float64 Gauss–Seidel sweep
// written out here, on data for which every operation is exact (integer
// H, integer steps in place of 1/H_ii, integer z and c, box [−8, 8]: all
// sums are small integers), so that any difference is a wrong index or a stale value,
// not rounding. Sizes around the chunk boundaries, tiles of 1, 7 and 64.
func TestBlockedSweepIsGaussSeidel(t *testing.T) { forEachTier(t, testBlockedSweepIsGaussSeidel) }

func testBlockedSweepIsGaussSeidel(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const lo, hi = -8, 8
	for _, b := range []int{8, blockedChunk} {
		for _, d := range chunkSizes(b) {
			lp := &layerPlan{d: d, chunk: b, h: make([]float32, d*d), invH: make([]float32, d), lo: lo, hi: hi}
			for i := 0; i < d; i++ {
				for p := 0; p < d; p++ {
					if p == i {
						lp.h[i*d+p] = 1
					} else if rng.IntN(3) == 0 {
						lp.h[i*d+p] = float32(rng.IntN(5) - 2)
					}
				}
				lp.invH[i] = float32(1 + rng.IntN(3)) // not 1/H_ii: any step is exact here
			}
			for _, tile := range []int{1, 7, 64} {
				z0, c0 := make([]float32, d*tile), make([]float32, d*tile)
				for i := range z0 {
					z0[i] = float32(rng.IntN(17) - 8)
					c0[i] = float32(rng.IntN(41) - 20)
				}
				// The reference, per input j: z_i ← clamp(z_i − (Σ_p H_ip z_p − c_i)/H_ii).
				want := toF64(z0)
				for j := 0; j < tile; j++ {
					for i := 0; i < d; i++ {
						var g float64
						for p := 0; p < d; p++ {
							g += float64(lp.h[i*d+p]) * want[p*tile+j]
						}
						g -= float64(c0[i*tile+j])
						want[i*tile+j] = math.Min(math.Max(want[i*tile+j]-g*float64(lp.invH[i]), lo), hi)
					}
				}
				unit := append([]float32(nil), z0...)
				for i := 0; i < d; i++ {
					asm.UnitUpdate(unit, lp.h[i*d:i*d+d], c0[i*tile:i*tile+tile], i, d, tile, lp.invH[i], lo, hi)
				}
				blocked := append([]float32(nil), z0...)
				blockedSweep(blocked, append([]float32(nil), c0...), make([]float32, 2*b*tile), lp, tile)
				what := fmt.Sprintf("chunk %d, d %d, tile %d", b, d, tile)
				require.Equal(t, want, toF64(unit), "unit sweep: %s", what)
				require.Equal(t, want, toF64(blocked), "blocked sweep: %s", what)
				changed := 0
				for i := range z0 {
					if z0[i] != blocked[i] {
						changed++
					}
				}
				require.Greater(t, changed, len(z0)/4, "the sweep must move most units (%s)", what)
			}
		}
	}
}

// TestBlockedBCDReachesMinimiser: free and clamped inference with the
// blocked sweep in every block converge to the minimiser of a float64
// projected-gradient solver, like the unit-by-unit sweep, for layer sizes
// around the chunk boundaries (chunks of 8 units on every tier, of
// blockedChunk on the best one) and tiles of 1, 7 and 64 inputs. For every
// input, ‖z_blocked − z_unit‖ ≤ (‖g̃_blocked‖ + ‖g̃_unit‖)/μ (both iterates
// are within their min-norm subgradient over μ of the unique minimiser),
// and one input is compared with the reference solver.
func TestBlockedBCDReachesMinimiser(t *testing.T) {
	forEachTier(t, func(t *testing.T) { testBlockedBCDReachesMinimiser(t, 8) })
	if !testing.Short() {
		testBlockedBCDReachesMinimiser(t, blockedChunk)
	}
}

func testBlockedBCDReachesMinimiser(t *testing.T, b int) {
	rng := rand.New(rand.NewPCG(43, uint64(b)))
	sizes := chunkSizes(b)
	for mi, d := range sizes {
		d2 := sizes[(mi+1)%len(sizes)]
		for _, m := range []*Model{
			randomModel([]int{12, d, d2, 4}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.125, uint64(50+mi), 1),
			randomModel([]int{12, d, d2, 5}, []Activation{HardSigmoid, ReLU, HardSigmoid}, []float64{0.5, 1, 1}, 0.25, uint64(60+mi), 1),
		} {
			checkBlockedMinimiser(t, rng, m, b)
		}
	}
}

func checkBlockedMinimiser(t *testing.T, rng *rand.Rand, m *Model, b int) {
	unitS, err := NewSolver(m)
	require.NoError(t, err)
	setChunk(unitS, 0)
	blockS, err := NewSolver(m)
	require.NoError(t, err)
	setChunk(blockS, b)
	const passes = 400
	L := m.L()
	for _, clamped := range []bool{false, true} {
		p := problem{m: m, clamped: clamped}
		mu := linalg.SymEigenvalues(p.hessian(make([]float32, m.Sizes[L])), p.dim())[0]
		require.Greater(t, mu, 0.0, "E must be strongly convex")
		lo, hi := p.bounds()
		for _, n := range []int{1, 7, 64} {
			x, tg := make([]float32, 0, n*m.Sizes[0]), make([]float32, 0, n*m.Sizes[L])
			for i := 0; i < n; i++ {
				x = append(x, randomInput(m.Sizes[0], rng)...)
				tg = append(tg, randomInput(m.Sizes[L], rng)...)
			}
			infer := func(s *Solver) *States {
				st := s.NewStates(n)
				if clamped {
					require.NoError(t, s.Clamped(s.NewWorkspace(), x, tg, n, passes, st))
				} else {
					require.NoError(t, s.Free(s.NewWorkspace(), x, n, passes, st))
				}
				return st
			}
			unit, blocked := infer(unitS), infer(blockS)
			for i := 0; i < n; i++ {
				p.x = x[i*m.Sizes[0] : (i+1)*m.Sizes[0]]
				target := tg[i*m.Sizes[L] : (i+1)*m.Sizes[L]]
				zu, zb := flatten(stateOf(unit, i), p.last()), flatten(stateOf(blocked, i), p.last())
				_, gu := p.grad64(zu, target)
				_, gb := p.grad64(zb, target)
				bound := (minNormSubgrad(gu, zu, lo, hi) + minNormSubgrad(gb, zb, lo, hi)) / mu
				what := fmt.Sprintf("sizes %v chunk %d clamped %v tile %d input %d", m.Sizes, b, clamped, n, i)
				dist := distance(zu, zb)
				assert.LessOrEqual(t, dist, bound*(1+1e-9)+1e-12, "%s: ‖blocked − unit‖ = %g > %g", what, dist, bound)
				if n != 64 || i != n-1 { // the reference for one input
					continue
				}
				zs, res := p.solvePG(target, 1e-10, 2_000_000)
				require.Less(t, res, 1e-9, "%s: reference solver did not converge", what)
				bound = (minNormSubgrad(gb, zb, lo, hi) + res) / mu
				dist = distance(zb, zs)
				assert.LessOrEqual(t, dist, bound*(1+1e-9)+1e-12, "%s: ‖blocked − PG‖ = %g > %g", what, dist, bound)
				var scale float64
				for _, v := range zs {
					scale = math.Max(scale, math.Abs(v))
				}
				assert.Less(t, dist, 1e-4*(1+scale), "%s: blocked BCD far from the minimiser", what)
			}
		}
	}
}

func distance(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

// TestSweepChunkThreshold: layers narrower than blockedMinUnits keep the
// unit-by-unit sweep, wider ones (up to MaxLayerUnits) are swept in
// chunks, in the free and the clamped problem.
func TestSweepChunkThreshold(t *testing.T) {
	m := randomModel([]int{10, blockedMinUnits - 1, blockedMinUnits, 3}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.125, 3, 1)
	s, err := NewSolver(m)
	require.NoError(t, err)
	for _, p := range []*plan{&s.free, &s.clamped} {
		for _, lp := range p.layers {
			want := 0
			if lp.d >= blockedMinUnits {
				want = blockedChunk
			}
			assert.Equal(t, want, lp.chunk, "block %d of %d units", lp.k, lp.d)
		}
	}
	assert.Len(t, s.NewWorkspace().sweep, 2*blockedChunk*TileSize)
}

// TestBlockedSweepDoesNotAllocate: inference with blocked blocks (free and
// clamped) is allocation-free with a reused workspace, like the
// unit-by-unit path (TestInferenceAllocations).
func TestBlockedSweepDoesNotAllocate(t *testing.T) {
	m := randomModel([]int{30, blockedMinUnits + 3, blockedMinUnits, 4}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.125, 5, 1)
	s, err := NewSolver(m)
	require.NoError(t, err)
	require.Equal(t, blockedChunk, s.free.layers[0].chunk)
	rng := rand.New(rand.NewPCG(6, 6))
	n := 2 * TileSize
	x := make([]float32, 0, n*30)
	for i := 0; i < n; i++ {
		x = append(x, randomInput(30, rng)...)
	}
	tg := make([]float32, n*4)
	ws, st := s.NewWorkspace(), s.NewStates(n)
	assert.Zero(t, testing.AllocsPerRun(3, func() {
		_ = s.Free(ws, x, n, 2, st)
		_ = s.Clamped(ws, x, tg, n, 2, st)
	}))
}
