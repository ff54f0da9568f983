package lrrn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewOrthogonal: every W_k has orthonormal rows (or columns) up to the
// float32 rounding of its entries, biases are zero, and a seed determines
// the model.
func TestNewOrthogonal(t *testing.T) {
	c := Config{Sizes: []int{30, 50, 50, 7}, Acts: []Activation{ReLU, ReLU, Linear}, Beta: []float64{1, 1, 1}, Gamma: 0.125, Passes: 20}
	m, err := NewOrthogonal(c, 3)
	require.NoError(t, err)
	for k, w := range m.W {
		rows, cols := c.Sizes[k+1], c.Sizes[k]
		n, l := rows, cols
		at := func(i, j int) float64 { return float64(w[i*cols+j]) }
		if rows > cols { // orthonormal columns
			n, l = cols, rows
			at = func(i, j int) float64 { return float64(w[j*cols+i]) }
		}
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				d := 0.0
				for p := 0; p < l; p++ {
					d += at(i, p) * at(j, p)
				}
				want := 0.0
				if i == j {
					want = 1
				}
				// Each entry carries a relative float32 rounding of at
				// most 2⁻²⁴; with unit vectors (Cauchy–Schwarz) the inner
				// product moves by at most 2·2⁻²⁴ + 2⁻⁴⁸, and the float64
				// orthonormalisation and this sum add far less than
				// another 2⁻²⁴.
				require.InDelta(t, want, d, 3*math.Ldexp(1, -24), "W_%d (%d×%d): vectors %d, %d", k, rows, cols, i, j)
			}
		}
		for _, b := range m.B[k] {
			require.Zero(t, b)
		}
	}
	again, err := NewOrthogonal(c, 3)
	require.NoError(t, err)
	require.Equal(t, m.W, again.W)
	other, err := NewOrthogonal(c, 4)
	require.NoError(t, err)
	require.NotEqual(t, m.W[0], other.W[0])

	bad := c
	bad.Sizes = []int{30, 0, 7}
	_, err = NewOrthogonal(bad, 1)
	require.Error(t, err)
}
