package train

import (
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpdateFlushesSubnormalWeights: a weight whose SGD step lands in the
// subnormal range becomes exactly zero; normal values are kept.
func TestUpdateFlushesSubnormalWeights(t *testing.T) {
	m, err := lrrn.New(lrrn.Config{Sizes: []int{4, 3, 2}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: 0.125, Passes: 1})
	require.NoError(t, err)
	tr := &Trainer{m: m, grad: newGradient(&m.Config), backup: m.Clone()}
	W := m.W[0]
	W[0], W[1], W[2], W[3] = 1e-38, -3e-39, 0.5, 2e-38
	assert.True(t, tr.update(0, 1, 1, 0))
	assert.Equal(t, []float32{0, 0, 0.5, 2e-38}, W[:4])
}
