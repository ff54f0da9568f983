package attack

import (
	"fmt"
	"os"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// benchModel is a random 784-w-w-10 model: β = [1, 1, 0] (reduced output)
// or β = [1, 1, 1] with the output a block (issue 12's configuration).
func benchModel(b *testing.B, w int, reduced bool) *lrrn.Model {
	beta := []float64{1, 1, 1}
	if reduced {
		beta[2] = 0
	}
	return randomModel(b, []int{784, w, w, 10}, []lrrn.Activation{R, R, Lin}, beta, 0.125, 9)
}

// BenchmarkMinAdversarial runs the boundary search (no candidates) on real
// MNIST test images; metrics per image: seconds, exact evaluations, fresh
// face factorisations and faces reached by row updates. LRRN_BENCH_1024=1
// adds 784-1024-1024-10.
func BenchmarkMinAdversarial(b *testing.B) {
	im, err := idx.ReadImages("../../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(b, err)
	cases := []struct {
		w       int
		reduced bool
	}{{64, true}, {128, false}, {256, true}, {256, false}}
	if os.Getenv("LRRN_BENCH_1024") != "" { // NewExact alone takes half a minute
		cases = append(cases, struct {
			w       int
			reduced bool
		}{1024, false})
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("784-%d-%d-10/reduced=%v", c.w, c.w, c.reduced), func(b *testing.B) {
			e, err := NewExact(benchModel(b, c.w, c.reduced))
			require.NoError(b, err)
			a := e.NewAttacker(Options{})
			i := 0
			for b.Loop() {
				x := make([]float64, 784)
				for p, v := range im.Image(i % im.N) {
					x[p] = float64(v)
				}
				p := a.Eval(x, nil)
				a.MinAdversarial(x, argmax(p.Out), p.Z, nil)
				i++
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/image")
			b.ReportMetric(float64(a.Evals())/float64(b.N), "evals/image")
			b.ReportMetric(float64(a.fc.misses)/float64(b.N), "factorisations/image")
			b.ReportMetric(float64(a.fc.updates)/float64(b.N), "updated-faces/image")
			b.ReportMetric(float64(e.Size()), "N")
		})
	}
}

// BenchmarkNewExact measures the per-model setup (Hessian assembly and the
// λ_min bound: about ten N³/3 factorisations) up to 1024-wide layers.
func BenchmarkNewExact(b *testing.B) {
	for _, w := range []int{256, 1024} {
		b.Run(fmt.Sprintf("784-%d-%d-10", w, w), func(b *testing.B) {
			m := benchModel(b, w, false)
			var e *Exact
			for b.Loop() {
				var err error
				e, err = NewExact(m)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(e.Size()), "N")
		})
	}
}
