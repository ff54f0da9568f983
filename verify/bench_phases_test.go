package verify

import (
	"testing"

	"github.com/lrrn/lrrn/lrrn"
)

// BenchmarkPhases splits one worker's time per image into the solver's
// (20 passes), the certifier's input part (W_0 x in chunks, ‖x‖) and its
// evaluation (residual products, float64 residual and bounds, margins;
// and with the residual from the float32 products only, NoRefine),
// on one tile of the fixture with the trained model.
func BenchmarkPhases(b *testing.B) {
	m, _ := trainedModel(b)
	im, _ := mnistFixture(b)
	c, err := New(m, Options{Workers: 1, Passes: 20})
	if err != nil {
		b.Fatal(err)
	}
	sc := c.newScratch()
	T := lrrn.TileSize
	out := make([]Certificate, T)
	x := im.Pixels[:T*784]
	if err := c.solver.Free(sc.ws, x, T, 20, sc.st); err != nil {
		b.Fatal(err)
	}
	b.Run("free", func(b *testing.B) {
		for b.Loop() {
			if err := c.solver.Free(sc.ws, x, T, 20, sc.st); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*T), "ns/image")
	})
	b.Run("input", func(b *testing.B) {
		for b.Loop() {
			c.inputPart(sc, x, T, sc.v, sc.xn)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*T), "ns/image")
	})
	b.Run("evaluate", func(b *testing.B) {
		for b.Loop() {
			c.evaluate(sc, sc.st, sc.v, x, sc.xn, nil, T, out, 20, sc.aux)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*T), "ns/image")
	})
	// the same with the residual from the float32 products only
	c32, err := New(m, Options{Workers: 1, Passes: 20, NoRefine: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("evaluate-float32", func(b *testing.B) {
		for b.Loop() {
			c32.evaluate(sc, sc.st, sc.v, x, sc.xn, nil, T, out, 20, sc.aux)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*T), "ns/image")
	})
}
