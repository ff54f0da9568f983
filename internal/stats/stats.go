// Package stats holds the summary statistics the commands and tests
// share: the median and quartiles of a sample.
package stats

import (
	"math"
	"slices"
)

// Median returns the median of v (the mean of the two middle values for
// an even count), NaN for an empty sample. v is not modified.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return median(s)
}

func median(s []float64) float64 {
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Quantiles summarises a sample: its minimum, quartiles (the sorted
// sample's element nearest to p·(n−1), p = 1/4, 3/4), median and maximum.
type Quantiles struct {
	Min, Q25, Median, Q75, Max float64
}

// Summarize returns the quantiles of v (all NaN for an empty sample). v is
// not modified.
func Summarize(v []float64) Quantiles {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		nan := math.NaN()
		return Quantiles{nan, nan, nan, nan, nan}
	}
	q := func(p float64) float64 { return s[int(math.Round(p*float64(len(s)-1)))] }
	return Quantiles{s[0], q(0.25), median(s), q(0.75), s[len(s)-1]}
}
