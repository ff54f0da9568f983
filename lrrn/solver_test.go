package lrrn

import (
	"fmt"
	"github.com/lrrn/lrrn/internal/memtest"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testCase struct {
	name  string
	model *Model
}

// testModels covers each activation set, β mixing zero and nonzero, γ in
// {1, 1/2, 1/8}, reduced and full output handling.
func testModels() []testCase {
	var out []testCase
	seed := uint64(1)
	for _, act := range []Activation{Linear, ReLU, HardSigmoid} {
		for _, gamma := range []float64{1, 0.5, 0.125} {
			for _, beta := range [][]float64{{1, 1, 0}, {0, 0.5, 0}, {2, 0, 0.5}, {0, 0, 0}} {
				outAct := Linear
				if beta[2] != 0 {
					outAct = act // full output block, constrained
				}
				m := randomModel([]int{7, 6, 5, 3}, []Activation{act, act, outAct}, beta, gamma, seed, 1.5)
				out = append(out, testCase{fmt.Sprintf("%s/γ=%g/β=%v", act, gamma, beta), m})
				seed++
			}
		}
	}
	return out
}

func flatten(z [][]float32, last int) []float64 {
	var out []float64
	for k := 1; k <= last; k++ {
		for _, v := range z[k] {
			out = append(out, float64(v))
		}
	}
	return out
}

func TestEnergyGradMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range testModels()[:12] {
		m := tc.model
		x := randomInput(m.Sizes[0], rng)
		z := make([][]float32, m.L()+1)
		g := make([][]float64, m.L()+1)
		for k := 1; k <= m.L(); k++ {
			z[k] = randomInput(m.Sizes[k], rng)
			for i := range z[k] { // on a 2^-10 grid, so that z ± 1/64 is exact
				z[k][i] = float32(math.Round(float64(z[k][i])*1024) / 1024)
			}
			g[k] = make([]float64, m.Sizes[k])
		}
		e := m.EnergyGrad(x, z, g)
		require.InDelta(t, m.Energy(x, z), e, 1e-12*math.Abs(e))
		for k := 1; k <= m.L(); k++ {
			for i := range z[k] {
				// E is quadratic, so the central difference is exact up
				// to rounding: use a step representable in float32.
				h := float32(1.0 / 64)
				v := z[k][i]
				z[k][i] = v + h
				ep := m.Energy(x, z)
				z[k][i] = v - h
				em := m.Energy(x, z)
				z[k][i] = v
				fd := (ep - em) / float64(2*h)
				assert.InDelta(t, fd, g[k][i], 1e-9*(1+math.Abs(fd)), "%s layer %d unit %d", tc.name, k, i)
			}
		}
	}
}

// solveRun is one setting of a solver test: the free or the clamped
// problem, with so many sweeps per pass.
type solveRun struct {
	clamped bool
	sweeps  int
}

// solveRuns returns the free and the clamped problem with 1 sweep per
// pass, then with `sweeps`.
func solveRuns(sweeps int) []solveRun {
	return []solveRun{{false, 1}, {true, 1}, {false, sweeps}, {true, sweeps}}
}

func TestEnergyNeverIncreases(t *testing.T) { forEachTier(t, testEnergyNeverIncreases) }

func testEnergyNeverIncreases(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range testModels() {
		m := tc.model
		s, err := NewSolver(m)
		require.NoError(t, err)
		x := randomInput(m.Sizes[0], rng)
		target := randomInput(m.Sizes[m.L()], rng)
		for _, run := range solveRuns(3) {
			clamped := run.clamped
			require.NoError(t, s.SetSweeps(run.sweeps))
			st := s.NewStates(1)
			var prev float64
			for p := 0; p <= 30; p++ {
				// p passes from the feed-forward start; comparing runs with
				// p and p+1 passes compares consecutive passes.
				if clamped {
					require.NoError(t, s.Clamped(nil, x, target, 1, p, st))
				} else {
					require.NoError(t, s.Free(nil, x, 1, p, st))
				}
				e := m.Energy(x, stateOf(st, 0))
				if p > 0 {
					// Iterates are float32: a pass at the minimiser may
					// move E by the rounding of the stored state, about
					// u·(|E| + Σ|∂E/∂z||z|); allow 64 u·(1+|E|).
					assert.LessOrEqual(t, e, prev+64*0x1p-24*(1+math.Abs(prev)), "%s clamped=%v sweeps=%d pass %d", tc.name, clamped, run.sweeps, p)
				}
				prev = e
			}
		}
	}
}

// TestBCDReachesMinimiser compares BCD after many passes with an
// independent float64 projected-gradient solver; the tolerance is
// ‖g̃‖/μ + ‖g*‖/μ: the distance of each iterate to the unique minimiser
// is at most its min-norm subgradient over the strong-convexity constant.
func TestBCDReachesMinimiser(t *testing.T) { forEachTier(t, testBCDReachesMinimiser) }

func testBCDReachesMinimiser(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range testModels() {
		m := tc.model
		s, err := NewSolver(m)
		require.NoError(t, err)
		x := randomInput(m.Sizes[0], rng)
		target := randomInput(m.Sizes[m.L()], rng)
		for _, run := range solveRuns(2) {
			clamped := run.clamped
			require.NoError(t, s.SetSweeps(run.sweeps))
			p := problem{m: m, x: x, clamped: clamped}
			st := s.NewStates(1)
			if clamped {
				require.NoError(t, s.Clamped(nil, x, target, 1, 400, st))
			} else {
				require.NoError(t, s.Free(nil, x, 1, 400, st))
			}
			zb := flatten(stateOf(st, 0), p.last())
			n := p.dim()
			ev := linalg.SymEigenvalues(p.hessian(target), n)
			mu := ev[0]
			require.Greater(t, mu, 0.0, "E must be strongly convex")
			zs, res := p.solvePG(target, 1e-10, 2_000_000)
			require.Less(t, res, 1e-9, "%s: reference solver did not converge", tc.name)
			_, g := p.grad64(zb, target)
			lo, hi := p.bounds()
			gb := minNormSubgrad(g, zb, lo, hi)
			var dist float64
			for i := range zb {
				dist += (zb[i] - zs[i]) * (zb[i] - zs[i])
			}
			dist = math.Sqrt(dist)
			bound := (gb + res) / mu
			assert.LessOrEqual(t, dist, bound*(1+1e-9)+1e-12, "%s clamped=%v: ‖BCD − PG‖ = %g > bound %g (μ=%g)", tc.name, clamped, dist, bound, mu)
			// BCD must actually have converged to float32 accuracy, not
			// merely satisfy a loose bound.
			var scale float64
			for _, v := range zs {
				scale = math.Max(scale, math.Abs(v))
			}
			assert.Less(t, dist, 1e-4*(1+scale), "%s clamped=%v: BCD far from the minimiser", tc.name, clamped)
		}
	}
}

func TestClampedKeepsTargetExactly(t *testing.T) { forEachTier(t, testClampedKeepsTargetExactly) }

func testClampedKeepsTargetExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range testModels() {
		m := tc.model
		s, err := NewSolver(m)
		require.NoError(t, err)
		n := 70 // more than one tile
		x := make([]float32, 0, n*m.Sizes[0])
		tg := make([]float32, 0, n*m.Sizes[m.L()])
		for i := 0; i < n; i++ {
			x = append(x, randomInput(m.Sizes[0], rng)...)
			tg = append(tg, randomInput(m.Sizes[m.L()], rng)...)
		}
		st := s.NewStates(n)
		require.NoError(t, s.Clamped(nil, x, tg, n, 5, st))
		require.Equal(t, tg, st.Z[m.L()], tc.name)
	}
}

// TestFeedForwardLimit: with β = 0 and tiny γ the free state is the
// feed-forward network up to O(γ).
func TestFeedForwardLimit(t *testing.T) { forEachTier(t, testFeedForwardLimit) }

func testFeedForwardLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, act := range []Activation{Linear, ReLU, HardSigmoid} {
		for _, gamma := range []float64{1e-2, 1e-4} {
			m := randomModel([]int{9, 8, 6, 4}, []Activation{act, act, Linear}, []float64{0, 0, 0}, gamma, 13, 1)
			s, err := NewSolver(m)
			require.NoError(t, err)
			x := randomInput(9, rng)
			st := s.NewStates(1)
			require.NoError(t, s.Free(nil, x, 1, 50, st))
			// Feed-forward in float64.
			z := make([]float64, 9)
			for i, v := range x {
				z[i] = float64(v)
			}
			for k := 0; k < m.L(); k++ {
				rows, cols := m.Sizes[k+1], m.Sizes[k]
				nz := make([]float64, rows)
				lo, hi := m.Acts[k].Bounds()
				for i := 0; i < rows; i++ {
					v := float64(m.B[k][i])
					for j := 0; j < cols; j++ {
						v += float64(m.W[k][i*cols+j]) * z[j]
					}
					nz[i] = math.Min(math.Max(v, float64(lo)), float64(hi))
				}
				z = nz
			}
			out := st.Output(0)
			var diff, scale float64
			for i := range z {
				diff = math.Max(diff, math.Abs(float64(out[i])-z[i]))
				scale = math.Max(scale, math.Abs(z[i]))
			}
			// O(γ): the feedback terms carry γ; 10·γ·(1+|z|) bounds them for
			// these unit-scale weights (measured ≈ γ·|z|).
			assert.Less(t, diff, 10*gamma*(1+scale)+1e-5, "%s γ=%g", act, gamma)
			t.Logf("%s γ=%g: max |free − feed-forward| = %.3g", act, gamma, diff)
		}
	}
}

// TestBatchMatchesSingle: tiles of many inputs give the same states as one
// input at a time, up to float32 rounding of the reordered sums.
func TestBatchMatchesSingle(t *testing.T) { forEachTier(t, testBatchMatchesSingle) }

func testBatchMatchesSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := randomModel([]int{20, 12, 9, 4}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.125, 21, 1)
	s, err := NewSolver(m)
	require.NoError(t, err)
	n := 150
	x := make([]float32, 0, n*20)
	for i := 0; i < n; i++ {
		x = append(x, randomInput(20, rng)...)
	}
	all := s.NewStates(n)
	require.NoError(t, s.Free(s.NewWorkspace(), x, n, 20, all))
	one := s.NewStates(1)
	for i := 0; i < n; i++ {
		require.NoError(t, s.Free(nil, x[i*20:i*20+20], 1, 20, one))
		for k := 1; k <= m.L(); k++ {
			assert.InDeltaSlice(t, toF64(one.Layer(k, 0)), toF64(all.Layer(k, i)), 1e-5, "input %d layer %d", i, k)
		}
	}
	// Continuing 20 passes equals 40 passes from the start.
	require.NoError(t, s.ContinueFree(nil, x, n, 20, all))
	again := s.NewStates(n)
	require.NoError(t, s.Free(nil, x, n, 40, again))
	require.Equal(t, again.Z, all.Z)

	// ClampedFrom on the clamped states after 20 passes continues them:
	// the same bits as 40 passes from the start. Started from the free
	// states instead, it reaches the same minimiser.
	tg := make([]float32, n*4)
	for i := 0; i < n; i++ {
		tg[i*4+i%4] = 1.5
	}
	cl := s.NewStates(n)
	require.NoError(t, s.Clamped(nil, x, tg, n, 20, cl))
	require.NoError(t, s.ClampedFrom(nil, x, tg, n, 20, cl))
	cl40 := s.NewStates(n)
	require.NoError(t, s.Clamped(nil, x, tg, n, 40, cl40))
	require.Equal(t, cl40.Z, cl.Z)
	require.NoError(t, s.Clamped(nil, x, tg, n, 400, cl40))
	require.NoError(t, s.ClampedFrom(nil, x, tg, n, 400, all))
	for k := 1; k <= m.L(); k++ {
		assert.InDeltaSlice(t, toF64(cl40.Z[k]), toF64(all.Z[k]), 1e-5, "layer %d", k)
	}
	require.Equal(t, tg, all.Z[m.L()], "the output is the target")
	require.Error(t, s.ClampedFrom(nil, x, tg[:4], n, 1, all))
	require.Error(t, s.ClampedFrom(nil, x[:20], tg[:4], 1, 1, all), "states of another batch size")
}

// TestFullTilesPositionIndependent: with the input part given and full
// tiles (FreeWithInput, ContinueFreeWithInput — the certifier's path), an
// input's iterate does not depend on its position or on the other inputs
// of its tile (bitwise), and continuing equals running the passes at once;
// with the unit-by-unit sweep and with the blocked one (chunks of 8 and
// blockedChunk units, each chunk size with layers on and off its
// boundaries).
func TestFullTilesPositionIndependent(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, m := range []*Model{
			randomModel([]int{20, 70, 33, 4}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.125, 22, 1),
			randomModel([]int{20, 12, 9, 5}, []Activation{HardSigmoid, ReLU, ReLU}, []float64{0.5, 1, 2}, 0.25, 23, 1),
			randomModel([]int{20, 2*blockedChunk + 3, blockedChunk, 4}, []Activation{ReLU, HardSigmoid, Linear}, []float64{1, 0.5, 1}, 0.25, 24, 1),
			randomModel([]int{20, blockedMinUnits, blockedChunk + 1, 4}, []Activation{ReLU, ReLU, Linear}, []float64{1, 1, 0}, 0.125, 25, 1),
		} {
			for _, chunk := range []int{0, 8, blockedChunk} {
				s, err := NewSolver(m)
				require.NoError(t, err)
				setChunk(s, chunk)
				n, d1 := 2*TileSize, m.Sizes[1]
				v := make([]float32, n*d1)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				// Tile 2 holds tile 1's inputs in reverse order.
				for j := 0; j < TileSize; j++ {
					copy(v[(TileSize+j)*d1:(TileSize+j+1)*d1], v[(TileSize-1-j)*d1:(TileSize-j)*d1])
				}
				st := s.NewStates(n)
				require.NoError(t, s.FreeWithInput(nil, v, n, 7, st))
				for j := 0; j < TileSize; j++ {
					for k := 1; k <= m.L(); k++ {
						require.Equal(t, st.Layer(k, j), st.Layer(k, 2*TileSize-1-j), "input %d layer %d", j, k)
					}
				}
				require.NoError(t, s.ContinueFreeWithInput(nil, v, n, 9, st))
				again := s.NewStates(n)
				require.NoError(t, s.FreeWithInput(nil, v, n, 16, again))
				require.Equal(t, again.Z, st.Z)
			}
		}
	})
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestInferenceAllocations(t *testing.T) {
	m := mnistShaped(1)
	s, err := NewSolver(m)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 256} {
		x := make([]float32, 0, n*784)
		for i := 0; i < n; i++ {
			x = append(x, randomInput(784, rng)...)
		}
		ws := s.NewWorkspace()
		st := s.NewStates(n)
		allocs := testing.AllocsPerRun(5, func() {
			_ = s.Free(ws, x, n, 3, st)
		})
		assert.Zero(t, allocs, "batch %d", n)
	}
}

func TestSolverErrors(t *testing.T) {
	m := mnistShaped(1)
	s, err := NewSolver(m)
	require.NoError(t, err)
	st := s.NewStates(1)
	assert.ErrorIs(t, s.Free(nil, make([]float32, 783), 1, 1, st), ErrShape)
	assert.ErrorIs(t, s.Clamped(nil, make([]float32, 784), make([]float32, 9), 1, 1, st), ErrShape)
	m.W[1][5] = float32(math.NaN())
	_, err = NewSolver(m)
	assert.ErrorContains(t, err, "W_1[0,5]")
}

// mnistShaped is the benchmark model: 784-64-64-10, relu hidden, linear
// output, β = [1,1,0], γ = 1/8.
func mnistShaped(seed uint64) *Model {
	m, err := NewRandom(Config{Sizes: []int{784, 64, 64, 10}, Acts: []Activation{ReLU, ReLU, Linear},
		Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, seed)
	if err != nil {
		panic(err)
	}
	return m
}

func BenchmarkInfer(b *testing.B) {
	m := mnistShaped(1)
	s, err := NewSolver(m)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	saved := asm.CurrentTier()
	defer func() { _ = asm.SetTier(saved) }()
	for _, tier := range asm.Available() {
		for _, n := range []int{1, 256} {
			b.Run(fmt.Sprintf("tier=%s/batch=%d", tier, n), func(b *testing.B) {
				if err := asm.SetTier(tier); err != nil {
					b.Fatal(err)
				}
				x := make([]float32, 0, n*784)
				for i := 0; i < n; i++ {
					x = append(x, randomInput(784, rng)...)
				}
				ws := s.NewWorkspace()
				st := s.NewStates(n)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := s.Free(ws, x, n, 20, st); err != nil {
						b.Fatal(err)
					}
				}
				nsPerImage := float64(b.Elapsed().Nanoseconds()) / float64(b.N*n)
				b.ReportMetric(nsPerImage, "ns/image")
				b.ReportMetric(1e9/nsPerImage, "images/s")
			})
		}
	}
}

// forEachTier runs f once per kernel tier this CPU supports (the SIMD tiers
// and the pure-Go reference), so that inference is checked on each.
func forEachTier(t *testing.T, f func(t *testing.T)) {
	saved := asm.CurrentTier()
	defer func() { require.NoError(t, asm.SetTier(saved)) }()
	tiers := asm.Available()
	if raceEnabled {
		// the goroutines are the same code on every tier; the pure-Go
		// kernels under -race would take minutes (they run without -race)
		tiers = []asm.Tier{saved}
	}
	for _, tier := range tiers {
		require.NoError(t, asm.SetTier(tier))
		t.Run(string(tier), f)
	}
}

func TestEnergyDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	m := mnistShaped(3)
	rng := rand.New(rand.NewPCG(4, 4))
	x := randomInput(784, rng)
	z := [][]float32{nil, randomInput(64, rng), randomInput(64, rng), randomInput(10, rng)}
	g := [][]float64{nil, make([]float64, 64), make([]float64, 64), make([]float64, 10)}
	m.Energy(x, z) // fill the pool
	assert.Zero(t, testing.AllocsPerRun(10, func() { m.Energy(x, z); m.EnergyGrad(x, z, g) }))
}

// TestNewSolverBoundsLayers: a model whose weights are small (1-65536-2,
// 1.5 MiB) but whose hidden layer would need a 65536×65536 block matrix
// (34 GB) is refused by NewSolver before anything is allocated, with the
// layer, its size and the limit in the error.
func TestNewSolverBoundsLayers(t *testing.T) {
	m := &Model{Config: Config{Sizes: []int{1, 1 << 16, 2}, Acts: []Activation{ReLU, Linear}, Beta: []float64{1, 0}, Gamma: 0.5, Passes: 5},
		W: [][]float32{make([]float32, 1<<16), make([]float32, 2<<16)}, B: [][]float32{make([]float32, 1<<16), make([]float32, 2)}}
	var s *Solver
	var err error
	n := memtest.Allocated(func() { s, err = NewSolver(m) })
	require.EqualError(t, err, "lrrn: size of layer 1 is 65536, want 1 … 4096")
	assert.Nil(t, s)
	assert.Less(t, n, uint64(1<<16), "bytes allocated while refusing the model")

	// At the limit the solver is built (a 4096×4096 block).
	m = &Model{Config: Config{Sizes: []int{1, MaxLayerUnits, 2}, Acts: []Activation{ReLU, Linear}, Beta: []float64{1, 0}, Gamma: 0.5, Passes: 5},
		W: [][]float32{make([]float32, MaxLayerUnits), make([]float32, 2*MaxLayerUnits)}, B: [][]float32{make([]float32, MaxLayerUnits), make([]float32, 2)}}
	_, err = NewSolver(m)
	require.NoError(t, err)
}

// TestHessianBlockIsTheSolvers: Model.HessianBlock is the one float64
// builder of the blocks H_k. NewSolverHessians returns its blocks bit for
// bit (package verify certifies μ from them, and verify/attack's exact
// reference assembles H from HessianBlock), and the solver's float32
// blocks are their rounding, in the free and the clamped problem. Widths
// above 64 take linalg.Gram's tiled path.
func TestHessianBlockIsTheSolvers(t *testing.T) {
	cases := testModels()
	wide, err := NewRandom(Config{Sizes: []int{100, 130, 70, 10}, Acts: []Activation{ReLU, HardSigmoid, Linear},
		Beta: []float64{1, 0.5, 0}, Gamma: 0.25, Passes: 5}, 3)
	require.NoError(t, err)
	cases = append(cases, testCase{"wide", wide})
	for _, tc := range cases {
		m := tc.model
		s, hs, err := NewSolverHessians(m)
		require.NoError(t, err, tc.name)
		K := m.L()
		if m.ReducedOutput() {
			K--
		}
		require.Len(t, hs, K, tc.name)
		rounded := func(H []float64) []float32 {
			out := make([]float32, len(H))
			for i, v := range H {
				out[i] = float32(v)
			}
			return out
		}
		for k := 1; k <= K; k++ {
			H := m.HessianBlock(k, k < K)
			require.Equal(t, H, hs[k-1], "%s: block %d", tc.name, k)
			require.Equal(t, rounded(H), s.free.layers[k-1].h, "%s: free block %d", tc.name, k)
		}
		for k := 1; k < m.L(); k++ {
			require.Equal(t, rounded(m.HessianBlock(k, true)), s.clamped.layers[k-1].h, "%s: clamped block %d", tc.name, k)
		}
	}
}
