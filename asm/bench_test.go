package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Benchmarks of every kernel on the model's sizes, per tier, in one run with
// the generic reference beside the assembly:
//
//	go test ./asm -run XXX -bench . -benchtime 0.5s
//
// Each reports GFLOP/s (a multiply-add counts 2) and, for SIMD tiers, %peak:
// the fraction of the register-only FMA loop of the same tier
// (BenchmarkPeakFMA), measured once per process.

// A peakLoop is a register-only FMA loop in assembly; architecture test files
// (kernels_amd64_test.go, …) register theirs.
type peakLoop struct {
	tier         Tier
	flopsPerIter float64
	run          func(iters int)
}

var peakLoops []peakLoop

// threadCPUTime, where the OS provides it (asm_test.go on Linux), returns the
// CPU time of the calling OS thread. On a shared machine wall-clock ns/op
// includes the time the benchmark was descheduled; the thread's CPU time
// does not, so GFLOP/s and %peak are computed from it when available, and
// reported as cpu-ns/op beside the usual ns/op.
var threadCPUTime func() time.Duration

var (
	peakOnce sync.Once
	peakGF   = map[Tier]float64{}
)

// peakGFLOPS returns the measured peak of a tier's FMA loop (best of five
// 20 ms runs), or 0 when the tier has no loop.
func peakGFLOPS(tier Tier) float64 {
	peakOnce.Do(func() {
		for _, l := range peakLoops {
			iters := 1 << 16
			best := 0.0
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for r := 0; r < 5; r++ {
				start, cpu0 := time.Now(), cpuNow()
				l.run(iters)
				el := time.Since(start)
				if cpu := cpuNow() - cpu0; cpu > 0 && threadCPUTime != nil {
					el = cpu
				}
				if el < 20*time.Millisecond {
					iters *= 2
					r--
					continue
				}
				best = math.Max(best, l.flopsPerIter*float64(iters)/el.Seconds()/1e9)
			}
			peakGF[l.tier] = best
		}
	})
	return peakGF[tier]
}

func cpuNow() time.Duration {
	if threadCPUTime == nil {
		return 0
	}
	return threadCPUTime()
}

// cpuSeconds reports cpu-ns/op and returns the seconds to compute rates from:
// the thread's CPU time where available, else the wall-clock time.
func cpuSeconds(b *testing.B, cpu time.Duration) float64 {
	if threadCPUTime == nil || cpu <= 0 {
		return b.Elapsed().Seconds()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	return cpu.Seconds()
}

func BenchmarkPeakFMA(b *testing.B) {
	if len(peakLoops) == 0 {
		b.Skip("no peak-FMA loop on this architecture or build")
	}
	for _, l := range peakLoops {
		b.Run(string(l.tier), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := cpuNow()
			l.run(b.N)
			sec := cpuSeconds(b, cpuNow()-cpu0)
			b.ReportMetric(l.flopsPerIter*float64(b.N)/sec/1e9, "GFLOP/s")
		})
	}
}

// benchTiers runs f once per available tier as a sub-benchmark and reports
// GFLOP/s and %peak from the flops of one call.
func benchTiers(b *testing.B, flops float64, f func(b *testing.B)) { benchTiersPeak(b, flops, 1, f) }

// benchTiersPeak is benchTiers for kernels whose peak is peakScale times the
// float32 FMA loop's (½ for float64: the same FMAs on half the lanes).
func benchTiersPeak(b *testing.B, flops, peakScale float64, f func(b *testing.B)) {
	saved := CurrentTier()
	defer func() { _ = SetTier(saved) }()
	for _, tier := range Available() {
		if err := SetTier(tier); err != nil {
			b.Fatal(err)
		}
		b.Run(string(tier), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := cpuNow()
			f(b)
			sec := cpuSeconds(b, cpuNow()-cpu0)
			if flops == 0 {
				return
			}
			gf := flops * float64(b.N) / sec / 1e9
			b.ReportMetric(gf, "GFLOP/s")
			if p := peakScale * peakGFLOPS(tier); p > 0 {
				b.ReportMetric(100*gf/p, "%peak")
			}
		})
	}
}

func benchVec(n int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(n), 99))
	return randVec(rng, n)
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{64, 784, 1000} {
		x, y := benchVec(n), benchVec(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchTiers(b, 2*float64(n), func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				var s float32
				for b.Loop() {
					s += Dot(x, y)
				}
				sink = s
			})
		})
	}
}

var (
	sink   float32
	sink64 float64
)

func BenchmarkAxpy(b *testing.B) {
	for _, n := range []int{64, 784} {
		x, y := benchVec(n), benchVec(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchTiers(b, 2*float64(n), func(b *testing.B) {
				b.SetBytes(int64(12 * n))
				for b.Loop() {
					Axpy(1e-7, x, y)
				}
			})
		})
	}
}

func BenchmarkClamp(b *testing.B) {
	for _, n := range []int{64, 784} {
		x := benchVec(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchTiers(b, 0, func(b *testing.B) {
				b.SetBytes(int64(4 * n)) // bytes clamped (read and written in place)
				cpu0 := cpuNow()
				for b.Loop() {
					Clamp(x, -0.5, 0.5)
				}
				b.ReportMetric(float64(4*n)*float64(b.N)/cpuSeconds(b, cpuNow()-cpu0)/1e9, "GB/s")
			})
		})
	}
}

var matShapes = [][2]int{{64, 784}, {64, 64}, {10, 64}, {784, 64}}

func BenchmarkMatVec(b *testing.B) {
	for _, sh := range matShapes {
		m, n := sh[0], sh[1]
		a, x, y := benchVec(m*n), benchVec(n), benchVec(m)
		b.Run(fmt.Sprintf("%dx%d", m, n), func(b *testing.B) {
			benchTiers(b, 2*float64(m*n), func(b *testing.B) {
				b.SetBytes(int64(4 * m * n))
				for b.Loop() {
					MatVec(y, a, m, n, x, false)
				}
			})
		})
	}
}

func BenchmarkMatTVec(b *testing.B) {
	for _, sh := range matShapes {
		m, n := sh[0], sh[1]
		a, x, y := benchVec(m*n), benchVec(m), benchVec(n)
		b.Run(fmt.Sprintf("%dx%d", m, n), func(b *testing.B) {
			benchTiers(b, 2*float64(m*n), func(b *testing.B) {
				b.SetBytes(int64(4 * m * n))
				for b.Loop() {
					MatTVec(y, a, m, n, x, false)
				}
			})
		})
	}
}

// gemmShapes are (m, k, n): the BCD neighbour products for tiles of 64 and
// 10 inputs, and one mid width.
var gemmShapes = [][3]int{{64, 64, 64}, {10, 64, 64}, {64, 64, 32}, {64, 64, 10}, {10, 64, 10}}

func BenchmarkGemm(b *testing.B) {
	for _, sh := range gemmShapes {
		m, k, n := sh[0], sh[1], sh[2]
		a, bb, c := benchVec(m*k), benchVec(k*n), benchVec(m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			benchTiers(b, 2*float64(m*k*n), func(b *testing.B) {
				for b.Loop() {
					Gemm(c, a, bb, m, k, n, false)
				}
			})
		})
	}
}

// GemmNT shapes: W_0·X for a tile of t inputs (A 64×784, B t×784).
func BenchmarkGemmNT(b *testing.B) {
	for _, t := range []int{64, 10} {
		m, k, n := 64, 784, t
		a, bb, c := benchVec(m*k), benchVec(n*k), benchVec(m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			benchTiers(b, 2*float64(m*k*n), func(b *testing.B) {
				for b.Loop() {
					GemmNT(c, a, bb, m, k, n, false)
				}
			})
		})
	}
}

func BenchmarkUnitUpdate(b *testing.B) {
	const k = 64
	for _, t := range []int{64, 32, 10, 1} {
		zs, h, ci := benchVec(k*t), benchVec(k), benchVec(t)
		b.Run(fmt.Sprintf("k=%d/t=%d", k, t), func(b *testing.B) {
			benchTiers(b, 2*float64(k*t), func(b *testing.B) {
				row := 0
				for b.Loop() {
					UnitUpdate(zs, h, ci, row, k, t, 0.125, 0, float32(math.Inf(1)))
					row = (row + 1) % k
				}
			})
		})
	}
}

// BenchmarkBCDTile is batched BCD inference of a 784-64-64-10 network on one
// tile of t inputs, from the kernels alone: W_0·X once (GemmNT), then 20
// passes, each computing c_1 and c_2 with a 64×64 Gemm and sweeping both
// hidden layers with 64 unit updates, and finally the 10×64 output Gemm.
// It states how close the whole inference loop comes to the FMA peak.
func BenchmarkBCDTile(b *testing.B) {
	const d0, d1, d2, d3, passes = 784, 64, 64, 10, 20
	for _, t := range []int{64, 10} {
		x := benchVec(t * d0)
		w0, w1t, w1, w2 := benchVec(d1*d0), benchVec(d1*d2), benchVec(d2*d1), benchVec(d3*d2)
		h1, h2 := benchVec(d1*d1), benchVec(d2*d2)
		for _, w := range [][]float32{w0, w1t, w1, w2, h1, h2} {
			for i := range w {
				w[i] *= 0.05 // keep the iteration bounded: no Inf, no subnormals
			}
		}
		for i := 0; i < d1; i++ {
			h1[i*d1+i], h2[i*d2+i] = 2, 2
		}
		wx := make([]float32, d1*t)
		c1, c2 := make([]float32, d1*t), make([]float32, d2*t)
		z1, z2, out := make([]float32, d1*t), make([]float32, d2*t), make([]float32, d3*t)
		flops := 2 * float64(d1*d0*t+passes*(d1*d2*t+d2*d1*t+d1*d1*t+d2*d2*t)+d3*d2*t)
		b.Run(fmt.Sprintf("t=%d", t), func(b *testing.B) {
			benchTiers(b, flops, func(b *testing.B) {
				for b.Loop() {
					GemmNT(wx, w0, x, d1, d0, t, false)
					for p := 0; p < passes; p++ {
						copy(c1, wx)
						Gemm(c1, w1t, z2, d1, d2, t, true)
						for i := 0; i < d1; i++ {
							UnitUpdate(z1, h1[i*d1:i*d1+d1], c1[i*t:i*t+t], i, d1, t, 0.5, 0, float32(math.Inf(1)))
						}
						Gemm(c2, w1, z1, d2, d1, t, false)
						for i := 0; i < d2; i++ {
							UnitUpdate(z2, h2[i*d2:i*d2+d2], c2[i*t:i*t+t], i, d2, t, 0.5, 0, float32(math.Inf(1)))
						}
					}
					Gemm(out, w2, z2, d3, d2, t, false)
				}
			})
		})
	}
}

// BenchmarkDot4x2: the float64 4×2 micro-kernel of the certifier's Gram
// products and Cholesky factorisations (k = 64: one tile of the blocked
// factorisation; 784 and 2058: the rows of W_0 and of the exact model's
// free problem), 16·k flops a call; %peak against the float64 peak.
func BenchmarkDot4x2(b *testing.B) {
	for _, k := range []int{64, 784, 2058} {
		rng := rand.New(rand.NewPCG(uint64(k), 98))
		var v [6][]float64
		for i := range v {
			v[i] = randVec64(rng, k)
		}
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			benchTiersPeak(b, 16*float64(k), 0.5, func(b *testing.B) {
				b.SetBytes(int64(6 * 8 * k))
				var s float64
				for b.Loop() {
					s += Dot4x2(v[0], v[1], v[2], v[3], v[4], v[5])[0]
				}
				sink64 = s
			})
		})
	}
}
