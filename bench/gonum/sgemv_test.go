//go:build linux

package gonum

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/lrrn/lrrn/asm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

var shapes = [][2]int{{64, 784}, {64, 64}, {10, 64}, {784, 64}}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Float64()*2 - 1)
	}
	return v
}

func sgemv(y, a []float32, m, n int, x []float32) {
	blas32.Gemv(blas.NoTrans, 1,
		blas32.General{Rows: m, Cols: n, Stride: n, Data: a},
		blas32.Vector{N: n, Inc: 1, Data: x}, 0,
		blas32.Vector{N: m, Inc: 1, Data: y})
}

// TestSameResult: both sides compute the same product (within the rounding
// bound 2·γ_n·Σ|a·x|), so the benchmark compares equal work.
func TestSameResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range shapes {
		m, n := sh[0], sh[1]
		a, x := randVec(rng, m*n), randVec(rng, n)
		y1, y2 := make([]float32, m), make([]float32, m)
		sgemv(y1, a, m, n, x)
		asm.MatVec(y2, a, m, n, x, false)
		g := float64(n) * 0x1p-24 / (1 - float64(n)*0x1p-24)
		for i := 0; i < m; i++ {
			var s float64
			for j := 0; j < n; j++ {
				s += math.Abs(float64(a[i*n+j]) * float64(x[j]))
			}
			if d := math.Abs(float64(y1[i]) - float64(y2[i])); d > 2*g*s {
				t.Fatalf("%dx%d row %d: gonum %v, asm %v", m, n, i, y1[i], y2[i])
			}
		}
	}
}

func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range shapes {
		m, n := sh[0], sh[1]
		a, x, y := randVec(rng, m*n), randVec(rng, n), make([]float32, m)
		flops := 2 * float64(m*n)
		// GFLOP/s from the thread's CPU time (the machine is shared:
		// wall-clock ns/op includes time descheduled), cpu-ns/op beside.
		report := func(b *testing.B, cpu time.Duration) {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("%dx%d/gonum-Sgemv", m, n), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			for b.Loop() {
				sgemv(y, a, m, n, x)
			}
			report(b, threadCPU()-c0)
		})
		saved := asm.CurrentTier()
		for _, tier := range asm.Available() {
			if err := asm.SetTier(tier); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%dx%d/asm-%s", m, n, tier), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0 := threadCPU()
				for b.Loop() {
					asm.MatVec(y, a, m, n, x, false)
				}
				report(b, threadCPU()-c0)
			})
		}
		_ = asm.SetTier(saved)
	}
}

// threadCPU is the CPU time of the calling OS thread (Linux).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
