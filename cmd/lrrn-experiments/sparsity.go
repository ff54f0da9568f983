package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/lrrn"
)

// nearZeroRel is the threshold of "near zero": a filter weight is near zero
// when |w| ≤ nearZeroRel·max|w| over the same filter (scale-free, so filters
// of different norms compare).
const nearZeroRel = 0.05

// Sparsity summarises the first-layer filters (rows of W_0) of a model.
type Sparsity struct {
	Filters  int
	NearZero float64 // mean over filters of the fraction of weights with |w| ≤ nearZeroRel·max|w|
	Hoyer    float64 // mean over filters of (√n − ‖w‖₁/‖w‖₂)/(√n − 1): 0 for a constant filter, 1 for a single nonzero
	Dead     int     // filters that are exactly zero (left out of the means)
}

// FilterSparsity computes Sparsity of W_0 over the input coordinates
// where use is true (all of them when use is nil).
func FilterSparsity(m *lrrn.Model, use []bool) (Sparsity, error) {
	if m.L() < 1 {
		return Sparsity{}, errors.New("model has no weight layer")
	}
	d, units := m.Sizes[0], m.Sizes[1]
	if use != nil && len(use) != d {
		return Sparsity{}, fmt.Errorf("mask has %d entries for %d inputs", len(use), d)
	}
	W := m.W[0]
	var s Sparsity
	f := make([]float32, 0, d)
	for u := 0; u < units; u++ {
		f = f[:0]
		for j, v := range W[u*d : (u+1)*d] {
			if use == nil || use[j] {
				f = append(f, v)
			}
		}
		n := float64(len(f))
		var amax, l1, l2 float64
		for _, v := range f {
			a := math.Abs(float64(v))
			amax = math.Max(amax, a)
			l1 += a
			l2 += a * a
		}
		if amax == 0 {
			s.Dead++
			continue
		}
		near := 0
		for _, v := range f {
			if math.Abs(float64(v)) <= nearZeroRel*amax {
				near++
			}
		}
		s.NearZero += float64(near) / n
		s.Hoyer += (math.Sqrt(n) - l1/math.Sqrt(l2)) / (math.Sqrt(n) - 1)
		s.Filters++
	}
	if s.Filters > 0 {
		s.NearZero /= float64(s.Filters)
		s.Hoyer /= float64(s.Filters)
	}
	return s, nil
}

func sparsityCmd(w io.Writer, paths []string) error {
	if len(paths) == 0 {
		return errors.New("sparsity: give at least one model file")
	}
	fmt.Fprintf(w, "%-60s %8s %10s %8s %5s\n", "model", "filters", "near-zero", "Hoyer", "dead")
	for _, p := range paths {
		m, err := lrrn.Load(p)
		if err != nil {
			return err
		}
		s, err := FilterSparsity(m, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		fmt.Fprintf(w, "%-60s %8d %9.1f%% %8.3f %5d\n", p, s.Filters, 100*s.NearZero, s.Hoyer, s.Dead)
	}
	fmt.Fprintf(w, "near-zero: |w| ≤ %g·max|w| of the filter, averaged over filters; Hoyer: (√n − ‖w‖₁/‖w‖₂)/(√n − 1), averaged\n", nearZeroRel)
	return nil
}

// usedPixels marks the input coordinates that are nonzero in at least one
// training image of a data set.
func usedPixels(name, dir string) ([]bool, int, error) {
	tr, err := dataset.LoadSplit(name, dir, dataset.Train)
	if err != nil {
		return nil, 0, err
	}
	d := tr.Dim()
	use := make([]bool, d)
	for i, v := range tr.Pixels {
		if v != 0 {
			use[i%d] = true
		}
	}
	n := 0
	for _, u := range use {
		if u {
			n++
		}
	}
	return use, n, nil
}

// FilterCosines returns, per first-layer filter, the cosine similarity of
// the filter in model a and in model b (same architecture), ascending.
func FilterCosines(a, b *lrrn.Model) ([]float64, error) {
	if a.Sizes[0] != b.Sizes[0] || a.Sizes[1] != b.Sizes[1] {
		return nil, fmt.Errorf("first layers differ: %d×%d and %d×%d", a.Sizes[1], a.Sizes[0], b.Sizes[1], b.Sizes[0])
	}
	d := a.Sizes[0]
	cs := make([]float64, 0, a.Sizes[1])
	for u := 0; u < a.Sizes[1]; u++ {
		var ab, aa, bb float64
		for j := 0; j < d; j++ {
			x, y := float64(a.W[0][u*d+j]), float64(b.W[0][u*d+j])
			ab += x * y
			aa += x * x
			bb += y * y
		}
		cs = append(cs, ab/math.Sqrt(aa*bb))
	}
	slices.Sort(cs)
	return cs, nil
}

func similarityCmd(w io.Writer, paths []string) error {
	if len(paths) != 2 {
		return errors.New("similarity: give two model files (e.g. pretrain-model.bin model.bin)")
	}
	a, err := lrrn.Load(paths[0])
	if err != nil {
		return err
	}
	b, err := lrrn.Load(paths[1])
	if err != nil {
		return err
	}
	cs, err := FilterCosines(a, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cosine similarity of the first-layer filters, %s vs %s: min %.3f, median %.3f, max %.3f (%d filters)\n",
		paths[0], paths[1], cs[0], stats.Median(cs), cs[len(cs)-1], len(cs))
	return nil
}
