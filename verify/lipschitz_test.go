package verify

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// TestLipschitzMatchesNew: Lipschitz gives New's Bounds bit for bit, Mu
// and MuBest aside, on every shipped model, and refuses a model with a
// non-finite weight as New does.
func TestLipschitzMatchesNew(t *testing.T) {
	paths, err := filepath.Glob("../testdata/*.bin")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		m, err := lrrn.Load(p)
		require.NoError(t, err, p)
		c, err := New(m, Options{Workers: 1})
		require.NoError(t, err, p)
		want := c.Bounds()
		want.Mu, want.MuBest = 0, 0
		got, err := Lipschitz(m)
		require.NoError(t, err, p)
		require.Equal(t, want, got, p)
		require.Greater(t, got.Rho, 0.0, p)
	}
	m, err := lrrn.Load("../testdata/mnist-784-64-64-10.bin")
	require.NoError(t, err)
	m.W[1][3] = float32(math.NaN())
	_, err = Lipschitz(m)
	require.Error(t, err)
	_, err = New(m, Options{Workers: 1})
	require.Error(t, err)
}
