package verify

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
)

// benchModelPath is the 784-64-64-10 model of the benchmark: a trained
// model when the fixture exists, else the random fixture.
func benchModel(b *testing.B) *lrrn.Model {
	for _, p := range []string{os.Getenv("LRRN_BENCH_MODEL"), "../testdata/mnist-784-64-64-10.bin", "../testdata/random-784-64-64-10.bin"} {
		if p == "" {
			continue
		}
		if m, err := lrrn.Load(p); err == nil {
			b.Logf("model %s", p)
			return m
		}
	}
	b.Fatal("no benchmark model")
	return nil
}

// benchImages returns n MNIST test images: the 500-image fixture repeated.
func benchImages(b *testing.B, n int) []float32 {
	im, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float32, 0, n*784)
	for len(x) < n*784 {
		x = append(x, im.Pixels[:min(len(im.Pixels), n*784-len(x))]...)
	}
	return x
}

// BenchmarkCertify certifies 10,000 MNIST test images (the 500-image
// fixture repeated) with a 784-64-64-10 model, 20 passes, all cores, for
// every SIMD tier this CPU runs (LRRN_SIMD=generic or asm.SetTier select
// one for the whole process). Each iteration also runs the solver alone on
// the same images with the same workers, interleaved, so that the
// certification overhead is measured under the same machine load:
// images/s is the certified throughput, infer-images/s the solver's, and
// overhead-% = (certify time / infer time − 1)·100.
func BenchmarkCertify(b *testing.B) {
	m := benchModel(b)
	const n = 10000
	x := benchImages(b, n)
	saved := asm.CurrentTier()
	defer asm.SetTier(saved)
	for _, tier := range asm.Available() {
		if err := asm.SetTier(tier); err != nil {
			b.Fatal(err)
		}
		c, err := New(m, Options{Passes: 20})
		if err != nil {
			b.Fatal(err)
		}
		out := make([]Certificate, n)
		b.Run(fmt.Sprintf("tier=%s", tier), func(b *testing.B) {
			b.ReportAllocs()
			inf := newInferBench(c, x, n)
			var tc, ti time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := c.CertifyBatch(context.Background(), x, nil, out); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				// the solver-only run interleaved for the overhead ratio,
				// outside ns/op (which is the certification's)
				b.StopTimer()
				inf.run()
				ti += time.Since(t1)
				b.StartTimer()
				tc += t1.Sub(t0)
			}
			b.ReportMetric(float64(n)*float64(b.N)/tc.Seconds(), "images/s")
			b.ReportMetric(float64(n)*float64(b.N)/ti.Seconds(), "infer-images/s")
			b.ReportMetric(100*(tc.Seconds()/ti.Seconds()-1), "overhead-%")
		})
	}
}

// inferBench runs only the solver, tile by tile over the certifier's
// workers, each with its own workspace.
type inferBench struct {
	c  *Certifier
	x  []float32
	n  int
	ws []*lrrn.Workspace
	st []*lrrn.States
}

func newInferBench(c *Certifier, x []float32, n int) *inferBench {
	ib := &inferBench{c: c, x: x, n: n}
	for w := 0; w < c.opts.Workers; w++ {
		ib.ws = append(ib.ws, c.solver.NewWorkspace())
		ib.st = append(ib.st, c.solver.NewStates(lrrn.TileSize))
	}
	return ib
}

func (ib *inferBench) run() {
	T := lrrn.TileSize
	ntiles := (ib.n + T - 1) / T
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range ib.ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= ntiles {
					return
				}
				i0 := t * T
				cnt := min(T, ib.n-i0)
				_ = ib.c.solver.Free(ib.ws[w], ib.x[i0*784:(i0+cnt)*784], cnt, 20, ib.st[w])
			}
		}()
	}
	wg.Wait()
}

// BenchmarkCertifyModels certifies MNIST test images (the 500-image
// fixture repeated: 20,000 for the paper's model, fewer for wide ones) on
// the current SIMD tier with all cores, for the shipped models
// (testdata/mnist-784-64-64-10.bin, testdata/mnist-robust-784-256-256-10.bin)
// and random 784-256-256-10 and 784-1024-1024-10 models (wideModel), with
// passes as needed (the default; and with the residual from the float32
// products only, NoRefine), 20 and 5 passes. images/s counts certified inputs per second
// of wall time, images/cpu-s per second of CPU time (user+system, all
// cores: twice it is what two idle cores reach at perfect scaling, a
// steadier figure on a shared machine); passes/image is the mean number of
// passes.
//
//	go test -run '^$' -bench BenchmarkCertifyModels -benchtime 3x ./verify/
func BenchmarkCertifyModels(b *testing.B) {
	shipped, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	if err != nil {
		b.Fatal(err)
	}
	robust, err := lrrn.Load("../testdata/mnist-robust-784-256-256-10.bin")
	if err != nil {
		b.Fatal(err)
	}
	models := []struct {
		name string
		m    *lrrn.Model
		n    int
	}{{"784-64-64-10", shipped, 20000}, {"robust-784-256-256-10", robust, 4000},
		{"784-256-256-10", wideModel(b, 256), 4000}, {"784-1024-1024-10", wideModel(b, 1024), 640}}
	for _, md := range models {
		x := benchImages(b, md.n)
		for _, o := range []Options{{}, {NoRefine: true}, {Passes: 20}, {Passes: 5}} {
			p := o.Passes
			out := make([]Certificate, md.n)
			name := fmt.Sprintf("model=%s/passes=%d", md.name, p)
			if p == 0 {
				name = fmt.Sprintf("model=%s/passes=as-needed", md.name)
			}
			if o.NoRefine {
				name += "/residual=float32"
			}
			b.Run(name, func(b *testing.B) {
				c, err := New(md.m, o)
				if err != nil {
					b.Fatal(err)
				}
				var passes int
				c0 := cpuSeconds()
				for b.Loop() {
					if err := c.CertifyBatch(context.Background(), x, nil, out); err != nil {
						b.Fatal(err)
					}
				}
				cpu := cpuSeconds() - c0
				for _, ct := range out {
					passes += ct.Passes
				}
				b.ReportMetric(float64(md.n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
				b.ReportMetric(float64(passes)/float64(md.n), "passes/image")
				b.ReportMetric(float64(md.n)*float64(b.N)/cpu, "images/cpu-s")
			})
		}
	}
}
