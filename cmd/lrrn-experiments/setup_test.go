package main

import (
	"context"
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain runs the tests, except in a child process of setup-scaling.
// setup-scaling re-executes os.Executable, which under go test is this
// test binary, with its arguments (setup-width W) and setupChildEnv set;
// the test binary then does what lrrn-experiments does with those
// arguments instead of running the tests, so the tests exercise the real
// re-execution, measurements and all.
func TestMain(m *testing.M) {
	if os.Getenv(setupChildEnv) != "" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// readSetupCSV returns setup.csv's rows by column name.
func readSetupCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	require.Equal(t, setupCSVHeader, recs[0])
	var out []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

func TestSetupScaling(t *testing.T) {
	if _, err := cpuSeconds(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	out, errs, code := runCmd(t, "setup-scaling", "--widths", "64,32", "--results", dir)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "width 32: New ")
	assert.Contains(t, out, "width 64: New ")

	rows := readSetupCSV(t, filepath.Join(dir, "setup-scaling", "setup.csv"))
	require.Len(t, rows, 2)
	num := func(row map[string]string, col string) float64 {
		v, err := strconv.ParseFloat(row[col], 64)
		require.NoError(t, err, "%s = %q", col, row[col])
		return v
	}
	for i, w := range []int{32, 64} { // ascending, whatever the order given
		row := rows[i]
		assert.Equal(t, strconv.Itoa(w), row["width"])
		assert.Equal(t, strconv.Itoa(2*w), row["variable_units"])
		for _, col := range []string{"cpu_seconds", "wall_seconds", "allocated_bytes", "peak_rss_bytes", "live_heap_bytes", "gomaxprocs"} {
			assert.Positive(t, num(row, col), "width %d: %s", w, col)
		}
		// the peak resident set holds at least the live heap
		assert.Greater(t, num(row, "peak_rss_bytes"), num(row, "live_heap_bytes"), "width %d", w)
		// a μ is certified; it is the smallest eigenvalue of the
		// block-scaled Hessian and may exceed 1 (1.0007 at width 32)
		mu := num(row, "mu")
		assert.True(t, mu > 0 && !math.IsInf(mu, 0), "width %d: μ = %v", w, mu)
	}

	f, err := os.Open(filepath.Join(dir, "setup-scaling", "setup.png"))
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), img.Bounds().Dy(), "two charts side by side")
	svg, err := os.ReadFile(filepath.Join(dir, "setup-scaling", "setup.svg"))
	require.NoError(t, err)
	for _, want := range []string{"CPU seconds of New", "peak RSS of the process", "allocated during New", "live heap after New and a GC"} {
		assert.Contains(t, string(svg), want)
	}
	// no directory of this machine in the CSV
	b, err := os.ReadFile(filepath.Join(dir, "setup-scaling", "setup.csv"))
	require.NoError(t, err)
	assert.NotContains(t, string(b), dir)
}

// TestSetupScalingUsage: a bad --widths, a stray argument or a bad
// setup-width is a usage error, and nothing is written.
func TestSetupScalingUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"setup-scaling", "--widths", "64,abc"},
		{"setup-scaling", "--widths", "0"},
		{"setup-scaling", "--widths", "-64"},
		{"setup-scaling", "--widths", ""},
		{"setup-scaling", "--widths", "64,64"},
		{"setup-scaling", "--bogus"},
		{"setup-scaling", "extra"},
		{"setup-width"},
		{"setup-width", "x"},
	} {
		_, errs, code := runCmd(t, append([]string{"--results", dir}, args...)...)
		assert.Equal(t, 2, code, "%q: %s", args, errs)
		assert.True(t, strings.HasPrefix(errs, "lrrn-experiments: "), errs)
		assert.Contains(t, errs, "see -h", args)
	}
	_, errs, _ := runCmd(t, "setup-scaling", "--widths", "64,abc")
	assert.Contains(t, errs, `"abc" is not a positive integer`)
	m, _ := filepath.Glob(filepath.Join(dir, "*"))
	assert.Empty(t, m)
}

// TestSetupScalingRefusedWidth: a width the child refuses (lrrn models
// have layers of at most 4096 units, as many as verify certifies) fails
// the run with the width and the child's reason, and writes nothing.
func TestSetupScalingRefusedWidth(t *testing.T) {
	dir := t.TempDir()
	_, errs, code := runCmd(t, "--results", dir, "setup-scaling", "--widths", "8192")
	assert.Equal(t, 1, code, errs)
	assert.Contains(t, errs, "lrrn-experiments: setup-scaling: width 8192: lrrn: size of layer 1 is 8192")
	assert.Contains(t, errs, "(exit status 1)")
	m, _ := filepath.Glob(filepath.Join(dir, "*"))
	assert.Empty(t, m)
}
