package verify

import (
	"context"
	"fmt"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
)

// BenchmarkCertifySweeps: certified images per second and CPU-second on
// the shipped models with passes as needed, at 1, 2 and 3 Gauss–Seidel
// sweeps per block and pass (Options.Sweeps), on the 500 real MNIST test
// images of testdata repeated to 4000; "certified" counts the
// certificates (they must agree between settings to within the adaptive
// tolerance).
func BenchmarkCertifySweeps(b *testing.B) {
	im, _ := mnistFixture(b)
	const reps = 8
	x := make([]float32, 0, reps*len(im.Pixels))
	for range reps {
		x = append(x, im.Pixels...)
	}
	n := reps * im.N
	for _, path := range []string{"../testdata/mnist-784-64-64-10.bin", "../testdata/mnist-robust-784-256-256-10.bin"} {
		m, err := lrrn.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, sw := range []int{1, 2, 3, 4, 6} {
			b.Run(fmt.Sprintf("model=%s/sweeps=%d", sizesName(m.Sizes), sw), func(b *testing.B) {
				c, err := New(m, Options{Sweeps: sw})
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
			})
		}
	}
}

func sizesName(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "-"
		}
		out += fmt.Sprint(d)
	}
	return out
}
