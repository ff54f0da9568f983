package lrrn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of wide-model inference and of the sweep, the unit-by-unit
// path beside the blocked one in the same run:
//
//	go test -run '^$' -bench 'BenchmarkSweep|BenchmarkWideInfer' -benchtime 2x ./lrrn/
//
// GFLOP/s counts a multiply-add as 2 and is computed from the process's
// CPU time (one goroutine runs), so that time descheduled on a shared
// machine does not count; asm's BenchmarkPeakFMA gives the peak to
// compare with.

// setChunk sets the blocked sweep's chunk of every block of s (0: unit by
// unit); workspaces must be made after it.
func setChunk(s *Solver, chunk int) {
	for _, p := range []*plan{&s.free, &s.clamped} {
		for i := range p.layers {
			p.layers[i].chunk = chunk
		}
	}
}

// paths are the two sweeps: unit by unit, and blocked in chunks of
// blockedChunk units.
var paths = []struct {
	name  string
	chunk int
}{{"unit", 0}, {"blocked", blockedChunk}}

// freeFlops returns the floating-point operations of free inference of one
// input with `passes` passes: W_0 x, the feed-forward start, per pass and
// block the products for c and the sweep, and the eliminated output.
func freeFlops(s *Solver, passes int) float64 {
	sz := s.m.Sizes
	f := 2 * float64(sz[0]*sz[1])
	for _, lp := range s.free.layers {
		d := float64(lp.d)
		if lp.k >= 2 {
			f += 2 * d * float64(sz[lp.k-1]) // feed-forward
			f += float64(passes) * 2 * d * float64(sz[lp.k-1])
		}
		if lp.q != nil {
			f += float64(passes) * 2 * d * float64(sz[lp.k+1])
		}
		f += float64(passes) * 2 * d * d
	}
	if s.reduced {
		L := s.m.L()
		f += 2 * float64(sz[L]*sz[L-1])
	}
	return f
}

// BenchmarkWideInfer: free inference (20 passes) of 256 random inputs
// with random 784-W-W-10 models (relu, linear output, γ = 1/8), β =
// [1,1,0] (the reduced free problem, as the shipped model) and [1,1,1] (as
// certified-robust models use), in tiles of 64 (TileSize), 128 and 256
// inputs, for both sweeps.
func BenchmarkWideInfer(b *testing.B) {
	const n, passes = 256, 20
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, 0, n*784)
	for i := 0; i < n; i++ {
		x = append(x, randomInput(784, rng)...)
	}
	for _, w := range []int{256, 1024} {
		for _, beta := range [][]float64{{1, 1, 0}, {1, 1, 1}} {
			m, err := NewRandom(Config{Sizes: []int{784, w, w, 10}, Acts: []Activation{ReLU, ReLU, Linear},
				Beta: beta, Gamma: 0.125, Passes: passes}, uint64(w))
			if err != nil {
				b.Fatal(err)
			}
			s, err := NewSolver(m)
			if err != nil {
				b.Fatal(err)
			}
			flops := freeFlops(s, passes)
			st := s.NewStates(n)
			for _, tile := range []int{64, 128, 256} {
				for _, p := range paths {
					name := fmt.Sprintf("model=784-%d-%d-10/beta=%v%v%v/tile=%d/sweep=%s", w, w, beta[0], beta[1], beta[2], tile, p.name)
					b.Run(name, func(b *testing.B) {
						setChunk(s, p.chunk)
						ws := s.newWorkspace(tile)
						c0 := cpuSeconds()
						for b.Loop() {
							if err := s.Free(ws, x, n, passes, st); err != nil {
								b.Fatal(err)
							}
						}
						cpu := cpuSeconds() - c0
						imgs := float64(n) * float64(b.N)
						b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
						if cpu > 0 {
							b.ReportMetric(imgs/cpu, "images/cpu-s")
							b.ReportMetric(imgs*flops/cpu/1e9, "GFLOP/s")
						}
					})
				}
			}
			setChunk(s, sweepChunk(w))
		}
	}
}

// BenchmarkSweep: one sweep of a d-unit block of a random 784-d-d-10
// model (block 1, the one with both products) over a tile of 64 inputs,
// unit by unit and blocked: the measurement behind blockedMinUnits.
func BenchmarkSweep(b *testing.B) {
	for _, d := range []int{64, 96, 128, 160, 192, 256, 512, 1024} {
		m, err := NewRandom(Config{Sizes: []int{784, d, d, 10}, Acts: []Activation{ReLU, ReLU, Linear},
			Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, uint64(d))
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewSolver(m)
		if err != nil {
			b.Fatal(err)
		}
		const t = TileSize
		rng := rand.New(rand.NewPCG(uint64(d), 9))
		z0, c0 := randomInput(d*t, rng), randomInput(d*t, rng)
		for _, p := range paths {
			b.Run(fmt.Sprintf("d=%d/sweep=%s", d, p.name), func(b *testing.B) {
				setChunk(s, p.chunk)
				ws := s.NewWorkspace()
				lp := &s.free.layers[0]
				z, c := make([]float32, d*t), make([]float32, d*t)
				cpu0 := cpuSeconds()
				for b.Loop() {
					copy(z, z0)
					copy(c, c0)
					sweepTile(ws, lp, z, c, t)
				}
				cpu := cpuSeconds() - cpu0
				if cpu > 0 {
					b.ReportMetric(2*float64(d*d*t)*float64(b.N)/cpu/1e9, "GFLOP/s")
				}
			})
		}
		setChunk(s, sweepChunk(d))
	}
}
