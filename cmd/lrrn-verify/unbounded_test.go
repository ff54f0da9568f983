package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnboundedRadius: a model whose output ignores the input (zero
// weights) prints ∞, not a 309-digit number, and encodes null with a flag.
func TestUnboundedRadius(t *testing.T) {
	path := zeroModel(t)

	r := runBin(t, "--limit", "3", path, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, regexp.MustCompile(`(?m)^\s+0\s+—\s+3\s+1\.0000\s+∞\s+∞\s+yes\s+5$`), r.stdout)
	assert.Contains(t, r.stdout, "median certified δ ∞, median δ_pair ∞")
	assert.NotRegexp(t, `\d{20}`, r.stdout)

	r = runBin(t, "--json", "--limit", "3", path, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	var out struct {
		Inputs  []map[string]any
		Summary map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Len(t, out.Inputs, 3)
	for _, in := range out.Inputs {
		assert.Nil(t, in["radius"])
		assert.Equal(t, true, in["radius_unbounded"])
		assert.Equal(t, true, in["pair_radius_unbounded"])
	}
	assert.Nil(t, out.Summary["median_certified_radius"])
	assert.Equal(t, true, out.Summary["median_certified_radius_unbounded"])
	assert.Equal(t, 0.0, out.Summary["rho"])
}

// zeroModel saves a 784-8-10 model with zero weights (ρ = 0, every radius
// unbounded) that predicts class 3 everywhere, and returns its path.
func zeroModel(t *testing.T) string {
	m, err := lrrn.New(lrrn.Config{Sizes: []int{784, 8, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: 0.125, Passes: 5})
	require.NoError(t, err)
	m.B[1][3] = 1
	path := filepath.Join(t.TempDir(), "zero.lrrn")
	require.NoError(t, m.Save(path))
	return path
}
