package verify

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lrrn/lrrn/lrrn"
)

// BenchmarkNew measures New (the per-model work: spectral bounds, ρ, μ,
// the solver) on random 784-W-W-10 models (relu, linear output,
// β = [1, 1, 0], γ = 1/8, weights scaled like trained ones) for the widths
// W in $LRRN_BENCH_WIDTHS (comma-separated; default 64,128,256,512,1024).
// Metrics: setup-s (seconds per New), B/op (bytes allocated, from
// ReportAllocs), live-MB (the Go heap in use after New and a GC, with the
// Certifier alive), cpu-s (user+system CPU seconds of the process during
// New, all cores: on a shared machine a steadier figure than the wall
// time), solver-s (lrrn.NewSolver alone, which New includes) and mu (the
// certified μ of the best block scaling) and maxrss-MB (the process's peak
// resident set so far: run widths in ascending order, or one at a time).
//
//	go test -run '^$' -bench BenchmarkNew -benchtime 1x ./verify/
//	LRRN_BENCH_WIDTHS=2048,4096 go test -run '^$' -bench BenchmarkNew -benchtime 1x -timeout 1h ./verify/
func BenchmarkNew(b *testing.B) {
	widths := []int{64, 128, 256, 512, 1024}
	if s := os.Getenv("LRRN_BENCH_WIDTHS"); s != "" {
		widths = widths[:0]
		for _, f := range strings.Split(s, ",") {
			w, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			widths = append(widths, w)
		}
	}
	for _, w := range widths {
		m := wideModel(b, w)
		b.Run(fmt.Sprintf("width=%d", w), func(b *testing.B) {
			b.ReportAllocs()
			var live uint64
			var solverS, cpu, mu float64
			for b.Loop() {
				c0 := cpuSeconds()
				c, err := New(m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuSeconds() - c0
				b.StopTimer()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				live = max(live, ms.HeapAlloc)
				if mu = c.Bounds().MuBest; mu <= 0 {
					b.Fatalf("width %d: no μ certified", w)
				}
				t0 := time.Now()
				if _, err := lrrn.NewSolver(m); err != nil {
					b.Fatal(err)
				}
				solverS += time.Since(t0).Seconds()
				runtime.KeepAlive(c)
				b.StartTimer()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "setup-s")
			b.ReportMetric(float64(live)/(1<<20), "live-MB")
			b.ReportMetric(solverS/float64(b.N), "solver-s")
			b.ReportMetric(cpu/float64(b.N), "cpu-s")
			b.ReportMetric(mu, "mu")
			b.ReportMetric(maxRSSBytes()/(1<<20), "maxrss-MB")
		})
	}
}

// wideModel returns a random 784-w-w-10 model with the shipped model's
// configuration (Glorot-uniform weights: ‖W_k‖₂ of order one whatever the
// width).
func wideModel(tb testing.TB, w int) *lrrn.Model {
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, w, w, 10},
		Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, uint64(w))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
