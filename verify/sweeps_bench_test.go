package verify

import (
	"context"
	"fmt"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
)

// benchCertify certifies the 500 real MNIST test images of testdata,
// repeated to 4000, with options o and reports images per second and per
// CPU-second, passes per image and the certificates per 500 images.
func benchCertify(b *testing.B, path string, o Options) {
	im, _ := mnistFixture(b)
	const reps = 8
	x := make([]float32, 0, reps*len(im.Pixels))
	for range reps {
		x = append(x, im.Pixels...)
	}
	n := reps * im.N
	m, err := lrrn.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(m, o)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]Certificate, n)
	c0 := cpuSeconds()
	for b.Loop() {
		if err := c.CertifyBatch(context.Background(), x, nil, out); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuSeconds() - c0
	var passes, cert int
	for _, ct := range out {
		passes += ct.Passes
		if ct.Certified {
			cert++
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(float64(n)*float64(b.N)/cpu, "images/cpu-s")
	b.ReportMetric(float64(passes)/float64(n), "passes/image")
	b.ReportMetric(float64(cert)/reps, "certified/500")
}

var benchModels = []struct{ name, path string }{
	{"784-64-64-10", "../testdata/mnist-784-64-64-10.bin"},
	{"784-256-256-10", "../testdata/mnist-robust-784-256-256-10.bin"},
}

// BenchmarkCertifySweeps: the shipped models with passes as needed at the
// sweeps chosen for the model (auto, the default) and at 1, 2, 3, 4 and 6
// Gauss–Seidel sweeps per block and pass (Options.Sweeps); the
// certificates must agree between settings.
func BenchmarkCertifySweeps(b *testing.B) {
	for _, md := range benchModels {
		for _, sw := range []int{0, 1, 2, 3, 4, 6} {
			name := fmt.Sprintf("model=%s/sweeps=%d", md.name, sw)
			if sw == 0 {
				name = fmt.Sprintf("model=%s/sweeps=auto", md.name)
			}
			b.Run(name, func(b *testing.B) {
				benchCertify(b, md.path, Options{Sweeps: sw})
			})
		}
	}
}

// BenchmarkCertifyStart: passes as needed starting from 2, 3 and 5
// (StartPasses, the default) passes — fewer first passes mean more rounds,
// each with its evaluation.
func BenchmarkCertifyStart(b *testing.B) {
	for _, md := range benchModels {
		for _, p := range []int{2, 3, StartPasses} {
			b.Run(fmt.Sprintf("model=%s/start=%d", md.name, p), func(b *testing.B) {
				benchCertify(b, md.path, Options{Passes: p, Adaptive: true})
			})
		}
	}
}
