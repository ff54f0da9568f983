package plot

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	gplot "gonum.org/v1/plot"
)

func labels(ts []gplot.Tick) []string {
	var out []string
	for _, t := range ts {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

// TestTickLabelsReadable: every label is a plain number with few digits,
// within the range, and there are enough of them; a log axis inside one
// decade (the training loss from 0.0314 to 0.0598) still gets labels.
func TestTickLabelsReadable(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		log    bool
		want   []string
	}{
		{0.0314, 0.0598, true, []string{"0.04", "0.05"}},
		{0.03, 0.06, true, []string{"0.03", "0.04", "0.05", "0.06"}},
		{0.001, 10, true, []string{"0.001", "0.01", "0.1", "1", "10"}},
		{0.02, 0.9, true, []string{"0.02", "0.05", "0.1", "0.2", "0.5"}},
		{0.0314, 0.0319, true, nil},
		{64, 4096, true, []string{"100", "200", "500", "1000", "2000"}},
		{0.5, 3000, true, []string{"1", "10", "100", "1000"}},
		{0, 100, false, []string{"0", "20", "40", "60", "80", "100"}},
		{0, 2, false, []string{"0.0", "0.5", "1.0", "1.5", "2.0"}},
		{1, 100, false, []string{"20", "40", "60", "80", "100"}},
		{85.3, 97.9, false, []string{"86", "88", "90", "92", "94", "96"}},
	} {
		var ts []gplot.Tick
		if tc.log {
			ts = logTicks{}.Ticks(tc.lo, tc.hi)
		} else {
			ts = niceTicks{}.Ticks(tc.lo, tc.hi)
		}
		got := labels(ts)
		if tc.want != nil {
			require.Equal(t, tc.want, got, "%v … %v", tc.lo, tc.hi)
		}
		require.GreaterOrEqual(t, len(got), 2, "%v … %v: %q", tc.lo, tc.hi, got)
		for _, l := range got {
			v, err := strconv.ParseFloat(l, 64)
			require.NoError(t, err, l)
			require.True(t, v >= tc.lo-1e-12 && v <= tc.hi+1e-12, "%s outside %v … %v", l, tc.lo, tc.hi)
			require.LessOrEqual(t, len(strings.TrimLeft(strings.ReplaceAll(l, ".", ""), "0")), 4, "too many digits: %s", l)
		}
	}
}

func sampleChart() *Chart {
	c := NewChart("Certified accuracy", "radius ε (ℓ2, pixels in [0,1])", "certified accuracy (%)")
	c.Lines = []Line{
		{Name: "model A, δ", X: []float64{0, 0.5, 1, 1.5}, Y: []float64{97, 80, 40, 5}},
		{Name: "model A, δ_pair", X: []float64{0, 0.5, 1, 1.5}, Y: []float64{97, 85, 50, 8}, Dashed: true},
	}
	c.Points = []Points{{Name: "published", X: []float64{0.5, 1.58}, Y: []float64{70, 30}, Labels: []string{"paper A", "paper B"}}}
	c.XMin, c.XMax, c.YMin, c.YMax = 0, 2, 0, 100
	return c
}

func TestChartSVGHasLegendAndLabels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.svg")
	require.NoError(t, sampleChart().Save(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	svg := string(b)
	require.True(t, strings.HasPrefix(svg, "<?xml"), svg[:40])
	for _, want := range []string{"Certified accuracy", "radius ε (ℓ2, pixels in [0,1])", "certified accuracy (%)",
		"model A, δ", "model A, δ_pair", "published", "paper A", "paper B", ">1.5<", ">100<"} {
		require.Contains(t, svg, want)
	}
}

func TestChartPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	require.NoError(t, sampleChart().Save(path))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, int(chartW.Dots(96)), img.Bounds().Dx())
	require.Equal(t, int(chartH.Dots(96)), img.Bounds().Dy())
}

func TestChartErrors(t *testing.T) {
	dir := t.TempDir()
	require.ErrorContains(t, NewChart("t", "x", "y").Save(filepath.Join(dir, "a.png")), "at least one line")
	require.ErrorContains(t, sampleChart().Save(filepath.Join(dir, "a.jpg")), "want a .png or .svg")
	c := sampleChart()
	c.Lines[0].Y = c.Lines[0].Y[:2]
	require.ErrorContains(t, c.Save(filepath.Join(dir, "a.png")), `"model A, δ" has 4 x and 2 y values`)
	c = sampleChart()
	c.Points[0].Labels = []string{"one"}
	require.ErrorContains(t, c.Save(filepath.Join(dir, "a.png")), "1 labels for 2 points")
	c = NewChart("t", "x", "y")
	c.LogY = true
	c.Lines = []Line{{Name: "n", X: []float64{1, 2}, Y: []float64{0, -1}}}
	require.ErrorContains(t, c.Save(filepath.Join(dir, "a.png")), "positive values")
	c = NewChart("t", "x", "y")
	c.LogX = true
	c.Lines = []Line{{Name: "n", X: []float64{0, -1}, Y: []float64{1, 2}}}
	require.ErrorContains(t, c.Save(filepath.Join(dir, "a.png")), "positive values")
	// NaN values are gaps, not errors
	c = NewChart("t", "x", "y")
	c.Lines = []Line{{Name: "n", X: []float64{1, 2, 3}, Y: []float64{1, math.NaN(), 2}}}
	require.NoError(t, c.Save(filepath.Join(dir, "a.png")))
	_, err := os.Stat(filepath.Join(dir, "a.jpg"))
	require.True(t, os.IsNotExist(err))
}

// TestChartLogX: a logarithmic x axis (with a logarithmic y axis: a
// log–log chart of cost against size) leaves out points with x ≤ 0,
// ignores a fixed XMin ≤ 0, labels its ticks as plain numbers, and widens
// a single x value by a factor of 2 either side.
func TestChartLogX(t *testing.T) {
	dir := t.TempDir()
	c := NewChart("cost against width", "width", "seconds")
	c.LogX, c.LogY = true, true
	c.XMin = 0 // not a positive bound: fit the data
	c.Lines = []Line{{Name: "cost", X: []float64{-64, 0, 64, 256, 1024, 4096}, Y: []float64{5, 5, 0.03, 0.16, 1.2, 27}}}
	c.Points = []Points{{Name: "marks", X: []float64{0, 128}, Y: []float64{1, 0.1}, Labels: []string{"dropped", "kept"}}}
	p, err := c.build()
	require.NoError(t, err)
	require.Equal(t, 64.0, p.X.Min, "x ≤ 0 left out, XMin = 0 ignored")
	require.Equal(t, 4096.0, p.X.Max)
	require.Equal(t, []string{"100", "200", "500", "1000", "2000"}, labels(p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max)))
	path := filepath.Join(dir, "c.svg")
	require.NoError(t, c.Save(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, want := range []string{"cost against width", ">100<", ">1000<", ">2000<", "kept"} {
		require.Contains(t, string(b), want)
	}
	require.NotContains(t, string(b), "dropped")

	c = NewChart("one width", "width", "seconds")
	c.LogX = true
	c.Lines = []Line{{Name: "cost", X: []float64{512, 512}, Y: []float64{1, 2}}}
	p, err = c.build()
	require.NoError(t, err)
	require.Equal(t, []float64{256, 1024}, []float64{p.X.Min, p.X.Max})
	require.NoError(t, c.Save(filepath.Join(dir, "c.png")))
}
