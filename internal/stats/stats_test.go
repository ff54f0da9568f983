package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMedianAndQuantiles(t *testing.T) {
	assert.True(t, math.IsNaN(Median(nil)))
	v := []float64{5, 1, 4, 2, 3}
	assert.Equal(t, 3.0, Median(v))
	assert.Equal(t, []float64{5, 1, 4, 2, 3}, v, "input modified")
	assert.Equal(t, 2.5, Median([]float64{4, 1, 2, 3}))
	assert.Equal(t, Quantiles{1, 2, 3, 4, 5}, Summarize(v))
	q := Summarize(nil)
	assert.True(t, math.IsNaN(q.Min) && math.IsNaN(q.Median) && math.IsNaN(q.Max))
	assert.Equal(t, Quantiles{7, 7, 7, 7, 7}, Summarize([]float64{7}))
}
