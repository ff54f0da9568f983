package lrrn

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireOrthonormal checks that the rows (rows ≤ cols) or columns of the
// rows×cols row-major w are orthonormal after scaling by s, up to the
// float32 rounding of its entries.
func requireOrthonormal(t *testing.T, w []float32, rows, cols int, s float64, what string) {
	t.Helper()
	n, l := rows, cols
	at := func(i, j int) float64 { return s * float64(w[i*cols+j]) }
	if rows > cols { // orthonormal columns
		n, l = cols, rows
		at = func(i, j int) float64 { return s * float64(w[j*cols+i]) }
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
			// Each entry carries a relative float32 rounding of at most
			// 2⁻²⁴; with unit vectors (Cauchy–Schwarz) the inner product
			// moves by at most 2·2⁻²⁴ + 2⁻⁴⁸, and the float64
			// orthonormalisation, the scaling and this sum add far less
			// than another 2⁻²⁴.
			require.InDelta(t, want, d, 3*math.Ldexp(1, -24), "%s (%d×%d): vectors %d, %d", what, rows, cols, i, j)
		}
	}
}

// TestNewOrthogonal: every W_k has orthonormal rows (or columns) up to the
// float32 rounding of its entries, biases are zero, and a seed determines
// the model.
func TestNewOrthogonal(t *testing.T) {
	c := Config{Sizes: []int{30, 50, 50, 7}, Acts: []Activation{ReLU, ReLU, Linear}, Beta: []float64{1, 1, 1}, Gamma: 0.125, Passes: 20}
	m, err := NewOrthogonal(c, 3)
	require.NoError(t, err)
	for k, w := range m.W {
		requireOrthonormal(t, w, c.Sizes[k+1], c.Sizes[k], 1, fmt.Sprintf("W_%d", k))
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

// TestNewPaired: every hidden layer's units come in pairs of exactly
// opposite weights whose first members are orthonormal after scaling by
// √2 (so every nonzero singular value is 1), the output layer is
// orthonormal, and odd hidden layers are refused.
func TestNewPaired(t *testing.T) {
	for _, sizes := range [][]int{{30, 20, 16, 7}, {12, 40, 40, 3}} {
		c := Config{Sizes: sizes, Acts: []Activation{ReLU, ReLU, Linear}, Beta: []float64{1, 1, 1}, Gamma: 0.125, Passes: 20}
		m, err := NewPaired(c, 3)
		require.NoError(t, err)
		L := len(m.W)
		for k := 0; k < L-1; k++ {
			rows, cols := sizes[k+1], sizes[k]
			w := m.W[k]
			first := make([]float32, 0, rows/2*cols)
			for i := 0; i < rows; i += 2 {
				for j := 0; j < cols; j++ {
					require.Equal(t, w[i*cols+j], -w[(i+1)*cols+j], "W_%d units %d, %d column %d", k, i, i+1, j)
				}
				first = append(first, w[i*cols:(i+1)*cols]...)
			}
			requireOrthonormal(t, first, rows/2, cols, math.Sqrt2, fmt.Sprintf("%v W_%d pairs", sizes, k))
		}
		requireOrthonormal(t, m.W[L-1], sizes[L], sizes[L-1], 1, fmt.Sprintf("%v W_%d", sizes, L-1))
	}
	c := Config{Sizes: []int{30, 21, 7}, Acts: []Activation{ReLU, Linear}, Beta: []float64{1, 1}, Gamma: 0.125, Passes: 20}
	_, err := NewPaired(c, 1)
	require.ErrorContains(t, err, "layer 1 has 21")
}
