package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttackText attacks the first images of the fixture with the trained
// 784-64-64-10 model: every certified, correct image gets a line with a
// ratio of at least 1, and the summary says no certificate broke.
func TestAttackText(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"attack", "--labels", labelsPath, "--n", "6", "--workers", "2", modelPath, imagesPath}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	s := out.String()
	assert.Contains(t, s, "784-64-64-10")
	assert.Contains(t, s, "certificates broken (found ≤ certified radius): 0")
	assert.Regexp(t, `\n\s+5\s+1\s+1\s+yes`, s, "a line per image")
	assert.Contains(t, s, "found ÷ certified radius max(δ, δ_pair): min ")
}

// attackReport mirrors the JSON the command writes.
type attackReport struct {
	Model struct {
		Beta []float64 `json:"beta"`
	} `json:"model"`
	Images []struct {
		Index     int      `json:"index"`
		Certified bool     `json:"certified"`
		Radius    float64  `json:"radius"`
		Pair      *float64 `json:"pair_radius"`
		Best      float64  `json:"certified_radius"`
		Found     *float64 `json:"found_distance"`
		Ratio     *float64 `json:"ratio"`
		Class     *int     `json:"adversarial_class"`
		Label     int      `json:"label"`
		Skipped   string   `json:"skipped"`
	} `json:"images"`
	Summary struct {
		Images, Attacked, Found, Broken int
		Ratio                           struct{ Min, Median float64 }
	} `json:"summary"`
}

// TestAttackNonReducedJSON: a model whose linear output is a block of the
// energy (β = [1, 1, 1], as in issue 12's certified-robust training)
// has no δ_pair; the attack still runs, inside the pixel box, and every
// adversarial example lies beyond the certified radius.
func TestAttackNonReducedJSON(t *testing.T) {
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, 16, 16, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear},
		Beta: []float64{1, 1, 1}, Gamma: 0.125, Passes: 20}, 3)
	require.NoError(t, err)
	for i := range m.B[2] {
		m.B[2][i] = float32(i) * 0.05 // distinct classes win
	}
	path := filepath.Join(t.TempDir(), "nonreduced.bin")
	require.NoError(t, m.Save(path))
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"attack", "--json", "--box", "--n", "8", "--candidates", "5", path, imagesPath}, &out, &errb)
	require.Equal(t, 0, code, "stderr: %s", errb.String())
	var r attackReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	assert.Equal(t, []float64{1, 1, 1}, r.Model.Beta)
	require.Len(t, r.Images, 8)
	assert.Equal(t, 8, r.Summary.Images)
	assert.Greater(t, r.Summary.Found, 0, "nothing found: the test checks nothing")
	assert.Equal(t, 0, r.Summary.Broken)
	found := 0
	for _, im := range r.Images {
		assert.Nil(t, im.Pair, "image %d: δ_pair of a non-reduced model", im.Index)
		if im.Found == nil {
			continue
		}
		found++
		require.NotNil(t, im.Ratio)
		assert.True(t, im.Certified)
		assert.Greater(t, *im.Found, im.Best, "image %d", im.Index)
		assert.InDelta(t, *im.Found/im.Best, *im.Ratio, 1e-12)
		assert.NotEqual(t, im.Label, *im.Class)
	}
	assert.Equal(t, r.Summary.Found, found)
	t.Logf("%d of 8 images attacked, adversarial found for %d; ratio min %.3f median %.3f", r.Summary.Attacked, found, r.Summary.Ratio.Min, r.Summary.Ratio.Median)
	assert.GreaterOrEqual(t, r.Summary.Ratio.Min, 1.0)
}

func TestAttackUsage(t *testing.T) {
	// A float32 IDX file of two 28×28 images, one pixel out of range.
	outOfRange := filepath.Join(t.TempDir(), "bad-idx3")
	px := make([]float32, 2*784)
	px[784+3] = 1.5
	require.NoError(t, idx.WriteFile(outOfRange, &idx.Array{Type: idx.Float32, Dims: []int{2, 28, 28}, F32: px}))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"attack"}, 2, "MODEL and IMAGES"},
		{[]string{"attack", "--n", "-1", modelPath, imagesPath}, 2, "--n -1"},
		{[]string{"attack", "--candidates", "-2", modelPath, imagesPath}, 2, "--candidates -2"},
		{[]string{"attack", "--workers", "5000", modelPath, imagesPath}, 2, "--workers 5000"},
		{[]string{"attack", "--bogus", modelPath, imagesPath}, 2, "bogus"},
		{[]string{"attack", "-h"}, 0, "lrrn-verify attack [flags] MODEL IMAGES"},
		{[]string{"attack", filepath.Join(t.TempDir(), "none.bin"), imagesPath}, 1, "model:"},
		{[]string{"attack", modelPath, tinyModel}, 1, "images:"},
		{[]string{"attack", "--labels", imagesPath, modelPath, imagesPath}, 1, "labels:"},
		{[]string{"attack", modelPath, outOfRange}, 1, "image 1 pixel 3 is 1.5, want a value in [0,1]"},
	} {
		var out, errb bytes.Buffer
		code := run(t.Context(), c.args, &out, &errb)
		assert.Equal(t, c.code, code, "%v: stderr %s", c.args, errb.String())
		assert.Contains(t, errb.String(), c.want, "%v", c.args)
		if c.code == 1 {
			assert.Equal(t, 1, strings.Count(errb.String(), "\n"), "%v: one line", c.args)
		}
	}
}
