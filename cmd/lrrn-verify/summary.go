package main

import (
	"math"
	"sort"
	"time"

	"github.com/lrrn/lrrn/internal/jsonnum"
	"github.com/lrrn/lrrn/verify"
)

// summary holds the table's statistics.
type summary struct {
	Images            int       `json:"images"`
	Labelled          bool      `json:"labelled"`
	Rho               *float64  `json:"rho"`
	MeanMargin        *float64  `json:"mean_margin"`
	MedianMargin      *float64  `json:"median_margin"`
	StdMargin         *float64  `json:"std_margin"`
	MedianDelta       *float64  `json:"paper_median_delta"`
	MedianDeltaInf    bool      `json:"paper_median_delta_unbounded,omitempty"`
	Accuracy          *float64  `json:"accuracy"`
	Certified         int       `json:"certified"`
	MedianRadius      *float64  `json:"median_certified_radius"`
	MedianPairRadius  *float64  `json:"median_certified_pair_radius"`
	MedianRadiusInf   bool      `json:"median_certified_radius_unbounded,omitempty"`
	MedianPairInf     bool      `json:"median_certified_pair_radius_unbounded,omitempty"`
	CertifiedAccuracy []epsRow  `json:"certified_accuracy"`
	Seconds           float64   `json:"seconds"`
	ImagesPerSecond   float64   `json:"images_per_second"`
	Passes            passStats `json:"passes"`
}

type epsRow struct {
	Eps          float64 `json:"eps"`
	Accuracy     float64 `json:"accuracy"`      // fraction correct and certified with δ > ε
	AccuracyPair float64 `json:"accuracy_pair"` // … with max(δ, δ_pair) > ε
}

type passStats struct {
	Min    int `json:"min"`
	Median int `json:"median"`
	Max    int `json:"max"`
}

// column holds one float64 per image in blocks of fixed size: it grows
// without copying (a doubling slice would hold its old and new arrays at
// once), and it sorts in place for the median.
type column struct {
	blocks [][]float64
	n      int
}

const columnBlock = 1 << 16

func (c *column) add(v float64) {
	if c.n%columnBlock == 0 {
		c.blocks = append(c.blocks, make([]float64, columnBlock))
	}
	c.blocks[c.n/columnBlock][c.n%columnBlock] = v
	c.n++
}

func (c *column) at(i int) *float64 { return &c.blocks[i/columnBlock][i%columnBlock] }

// each calls f on the values in the order they were added.
func (c *column) each(f func(float64)) {
	for i := 0; i < c.n; i++ {
		f(*c.at(i))
	}
}

func (c *column) Len() int { return c.n }
func (c *column) Less(i, j int) bool { // as sort.Float64s: NaN first
	a, b := *c.at(i), *c.at(j)
	return a < b || (math.IsNaN(a) && !math.IsNaN(b))
}
func (c *column) Swap(i, j int) { a, b := c.at(i), c.at(j); *a, *b = *b, *a }

// median sorts c (in place) and returns its median.
func (c *column) median() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	sort.Sort(c)
	if c.n%2 == 1 {
		return *c.at(c.n / 2)
	}
	return (*c.at(c.n/2 - 1) + *c.at(c.n / 2)) / 2
}

// tally accumulates the summary's statistics as certificates stream by:
// counts, and the three values per image whose exact medians the summary
// reports (24 bytes an image, in blocks; everything else is bounded).
type tally struct {
	eps                  []float64
	labelled             bool
	n, certified         int
	correct              int
	margins, radii, pair column
	passes               map[int]int // passes → images
	atEps, bestAtEps     []int       // correct and certified with δ > ε, with max(δ, δ_pair) > ε
}

func newTally(eps []float64, labelled bool) *tally {
	return &tally{eps: eps, labelled: labelled, passes: map[int]int{}, atEps: make([]int, len(eps)), bestAtEps: make([]int, len(eps))}
}

// add counts one certificate; label is −1 without labels.
func (t *tally) add(ct verify.Certificate, label int) {
	t.n++
	t.margins.add(ct.Margin)
	t.radii.add(ct.Radius)
	if !math.IsNaN(ct.PairRadius) {
		t.pair.add(ct.PairRadius)
	}
	t.passes[ct.Passes]++
	if ct.Certified {
		t.certified++
	}
	if !t.labelled || ct.Pred != label {
		return
	}
	t.correct++
	if !ct.Certified {
		return
	}
	for i, e := range t.eps {
		if ct.Radius > e {
			t.atEps[i]++
		}
		if ct.Radius > e || ct.PairRadius > e {
			t.bestAtEps[i]++
		}
	}
}

// passStats returns the minimum, median (of the values as float64,
// truncated) and maximum of the pass counts.
func (t *tally) passStats() passStats {
	keys := make([]int, 0, len(t.passes))
	for p := range t.passes {
		keys = append(keys, p)
	}
	sort.Ints(keys)
	at := func(i int) float64 { // the i-th smallest
		for _, p := range keys {
			if i < t.passes[p] {
				return float64(p)
			}
			i -= t.passes[p]
		}
		return math.NaN()
	}
	med := at(t.n / 2)
	if t.n%2 == 0 {
		med = (at(t.n/2-1) + med) / 2
	}
	return passStats{keys[0], int(med), keys[len(keys)-1]}
}

func (t *tally) summary(c *verify.Certifier, elapsed time.Duration) summary {
	b := c.Bounds()
	n := t.n
	s := summary{Images: n, Labelled: t.labelled, Rho: jsonnum.Finite(b.Rho), Seconds: elapsed.Seconds(), Certified: t.certified, CertifiedAccuracy: []epsRow{}}
	if elapsed > 0 {
		s.ImagesPerSecond = float64(n) / elapsed.Seconds()
	}
	if n > 0 {
		var sum float64
		t.margins.each(func(m float64) { sum += m })
		mean := sum / float64(n)
		var ss float64
		t.margins.each(func(m float64) { ss += (m - mean) * (m - mean) })
		std := 0.0
		if n > 1 {
			std = math.Sqrt(ss / float64(n-1))
		}
		med := t.margins.median()
		s.MeanMargin, s.MedianMargin, s.StdMargin = jsonnum.Finite(mean), jsonnum.Finite(med), jsonnum.Finite(std)
		s.MedianDelta, s.MedianDeltaInf = numInf(med / (math.Sqrt2 * b.Rho))
		s.MedianRadius, s.MedianRadiusInf = numInf(t.radii.median())
		if t.pair.Len() > 0 {
			s.MedianPairRadius, s.MedianPairInf = numInf(t.pair.median())
		}
		s.Passes = t.passStats()
	}
	if t.labelled && n > 0 {
		s.Accuracy = jsonnum.Finite(float64(t.correct) / float64(n))
		for i, e := range t.eps {
			s.CertifiedAccuracy = append(s.CertifiedAccuracy, epsRow{Eps: e, Accuracy: float64(t.atEps[i]) / float64(n), AccuracyPair: float64(t.bestAtEps[i]) / float64(n)})
		}
	}
	return s
}
