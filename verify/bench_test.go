package verify

import (
	"context"
	"fmt"
	"os"
	"testing"

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

// BenchmarkCertify certifies 10,000 MNIST test images (the fixture
// repeated) with 20 passes on all cores, per SIMD tier; "infer" is the
// solver alone with the same passes and workers, for the overhead ratio.
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
		b.Run(fmt.Sprintf("tier=%s/certify", tier), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.CertifyBatch(context.Background(), x, nil, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
		b.Run(fmt.Sprintf("tier=%s/infer", tier), func(b *testing.B) {
			benchInfer(b, c, x, n)
		})
	}
}

// benchInfer runs only the solver, tile by tile over the same workers.
func benchInfer(b *testing.B, c *Certifier, x []float32, n int) {
	T := lrrn.TileSize
	ntiles := (n + T - 1) / T
	workers := c.opts.Workers
	for b.Loop() {
		done := make(chan struct{})
		next := make(chan int, ntiles)
		for t := 0; t < ntiles; t++ {
			next <- t
		}
		close(next)
		for w := 0; w < workers; w++ {
			go func() {
				ws := c.solver.NewWorkspace()
				st := c.solver.NewStates(T)
				for t := range next {
					i0 := t * T
					cnt := min(T, n-i0)
					_ = c.solver.Free(ws, x[i0*784:(i0+cnt)*784], cnt, 20, st)
				}
				done <- struct{}{}
			}()
		}
		for w := 0; w < workers; w++ {
			<-done
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
