package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lrrn/lrrn/internal/atomicfile"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// A Line is a named series drawn as a line, x ascending.
type Line struct {
	Name   string
	X, Y   []float64
	Dashed bool
}

// Points is a named set of points drawn as markers only, each with an
// optional text label beside it (Labels is empty or has one per point) —
// for example published results to compare curves with.
type Points struct {
	Name   string
	X, Y   []float64
	Labels []string
}

// A Chart is a line chart: several named lines and point sets over shared
// axes, with a legend, axis labels (give the units) and tick labels that
// read as plain numbers. A NaN in Min/Max means "fit the data".
type Chart struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	Points                []Points
	XMin, XMax            float64
	YMin, YMax            float64
	LogX                  bool // logarithmic x axis; values ≤ 0 are left out
	LogY                  bool // logarithmic y axis; values ≤ 0 are left out
	// LegendLeft puts the legend at the left rather than the right,
	// LegendBottom at the bottom rather than the top.
	LegendLeft, LegendBottom bool
}

// NewChart returns a chart with the given texts whose ranges fit the data.
func NewChart(title, xlabel, ylabel string) *Chart {
	nan := math.NaN()
	return &Chart{Title: title, XLabel: xlabel, YLabel: ylabel, XMin: nan, XMax: nan, YMin: nan, YMax: nan}
}

// palette: colour-blind-safe (Okabe–Ito), in order of use.
var palette = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // bluish green
	{230, 159, 0, 255},   // orange
	{204, 121, 167, 255}, // reddish purple
	{86, 180, 233, 255},  // sky blue
	{0, 0, 0, 255},       // black
}

// build returns the chart as a gonum plot.
func (c *Chart) build() (*gplot.Plot, error) {
	if len(c.Lines)+len(c.Points) == 0 {
		return nil, errors.New("plot: a chart needs at least one line or point set")
	}
	p := c.newPlot()
	drawn, err := c.addLines(p)
	if err != nil {
		return nil, err
	}
	n, err := c.addPoints(p, len(c.Lines))
	if err != nil {
		return nil, err
	}
	if drawn += n; drawn == 0 {
		if c.LogX || c.LogY {
			return nil, fmt.Errorf("plot: %q: a logarithmic axis needs positive values", c.Title)
		}
		return nil, fmt.Errorf("plot: %q: no finite values to draw", c.Title)
	}
	if err := c.setRanges(p); err != nil {
		return nil, err
	}
	return p, nil
}

// newPlot returns an empty plot with the chart's texts, fonts, legend
// position, grid and tick markers.
func (c *Chart) newPlot() *gplot.Plot {
	p := gplot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.Top = !c.LegendBottom
	p.Legend.Left = c.LegendLeft
	p.Legend.XOffs = -vg.Points(6)
	if c.LegendLeft {
		p.Legend.XOffs = vg.Points(6)
	}
	p.Legend.YOffs = -vg.Points(6)
	if c.LegendBottom {
		p.Legend.YOffs = vg.Points(6)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{225}
	grid.Horizontal.Color = color.Gray{225}
	p.Add(grid)
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	if c.LogX {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	}
	if c.LogY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	return p
}

// keep reports whether the point (x, y) can be drawn: both finite, and
// positive on a logarithmic axis.
func (c *Chart) keep(x, y float64) bool {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	return finite(x) && finite(y) && (!c.LogX || x > 0) && (!c.LogY || y > 0)
}

// xys returns the points of a series that can be drawn.
func (c *Chart) xys(name string, x, y []float64) (plotter.XYs, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("plot: %q has %d x and %d y values", name, len(x), len(y))
	}
	var out plotter.XYs
	for i := range x {
		if c.keep(x[i], y[i]) {
			out = append(out, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return out, nil
}

// addLines adds the lines, the i-th in the i-th colour of the palette,
// and returns how many points they draw.
func (c *Chart) addLines(p *gplot.Plot) (drawn int, err error) {
	for k, l := range c.Lines {
		d, err := c.xys(l.Name, l.X, l.Y)
		if err != nil {
			return 0, err
		}
		col := palette[k%len(palette)]
		if len(d) == 0 {
			continue
		}
		drawn += len(d)
		ln, err := plotter.NewLine(d)
		if err != nil {
			return 0, err
		}
		ln.Color = col
		ln.Width = vg.Points(1.6)
		if l.Dashed {
			ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(ln)
		if len(d) == 1 { // a single epoch: show it
			sc, err := plotter.NewScatter(d)
			if err != nil {
				return 0, err
			}
			sc.Color = col
			p.Add(sc)
		}
		if l.Name != "" {
			p.Legend.Add(l.Name, ln)
		}
	}
	return drawn, nil
}

// addPoints adds the point sets, each with its own marker shape and with
// the palette's colours from the k-th on (after the lines'), and returns
// how many points they draw.
func (c *Chart) addPoints(p *gplot.Plot, k int) (drawn int, err error) {
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}}
	for i, ps := range c.Points {
		d, err := c.xys(ps.Name, ps.X, ps.Y)
		if err != nil {
			return 0, err
		}
		if len(ps.Labels) != 0 && len(ps.Labels) != len(ps.X) {
			return 0, fmt.Errorf("plot: %q has %d labels for %d points", ps.Name, len(ps.Labels), len(ps.X))
		}
		col := palette[(k+i)%len(palette)]
		if len(d) == 0 {
			continue
		}
		drawn += len(d)
		sc, err := plotter.NewScatter(d)
		if err != nil {
			return 0, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: shapes[i%len(shapes)]}
		p.Add(sc)
		if ps.Name != "" {
			p.Legend.Add(ps.Name, sc)
		}
		if len(ps.Labels) > 0 {
			if err := c.addLabels(p, ps, col); err != nil {
				return 0, err
			}
		}
	}
	return drawn, nil
}

// addLabels writes each drawable point's label beside it in the set's
// colour.
func (c *Chart) addLabels(p *gplot.Plot, ps Points, col color.RGBA) error {
	var lx plotter.XYLabels
	for j := range ps.X {
		if c.keep(ps.X[j], ps.Y[j]) {
			lx.XYs = append(lx.XYs, plotter.XY{X: ps.X[j], Y: ps.Y[j]})
			lx.Labels = append(lx.Labels, ps.Labels[j])
		}
	}
	lb, err := plotter.NewLabels(lx)
	if err != nil {
		return err
	}
	lb.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(2)}
	for j := range lb.TextStyle {
		lb.TextStyle[j].Font.Size = vg.Points(9)
		lb.TextStyle[j].Color = col
	}
	p.Add(lb)
	return nil
}

// setRanges applies the chart's fixed axis ranges (NaN: fit the data) and
// widens a range of one value so that the axis has a length.
func (c *Chart) setRanges(p *gplot.Plot) error {
	for _, r := range []struct {
		set      *float64
		v        float64
		log, min bool
	}{{&p.X.Min, c.XMin, c.LogX, true}, {&p.X.Max, c.XMax, c.LogX, false}, {&p.Y.Min, c.YMin, c.LogY, true}, {&p.Y.Max, c.YMax, c.LogY, false}} {
		if !math.IsNaN(r.v) && (!r.log || r.v > 0) {
			*r.set = r.v
		}
	}
	if !(p.X.Max > p.X.Min) || !(p.Y.Max > p.Y.Min) {
		// one value: widen the range so that the axis has a length
		if !(p.X.Max > p.X.Min) {
			if c.LogX {
				p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
			} else {
				p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
			}
		}
		if !(p.Y.Max > p.Y.Min) {
			if c.LogY {
				p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*2
			} else {
				p.Y.Min, p.Y.Max = p.Y.Min-1, p.Y.Max+1
			}
		}
	}
	if (c.LogX && !(p.X.Min > 0)) || (c.LogY && !(p.Y.Min > 0)) {
		return fmt.Errorf("plot: %q: a logarithmic axis needs positive values", c.Title)
	}
	return nil
}

// Size of one chart.
const (
	chartW = 6 * vg.Inch
	chartH = 4 * vg.Inch
)

// Save writes the chart to path as PNG or SVG, by the file name's
// extension (.png, .svg), atomically.
func (c *Chart) Save(path string) error {
	return SaveRow(path, c)
}

// SaveRow writes charts side by side into one figure (PNG or SVG by the
// extension of path), atomically.
func SaveRow(path string, charts ...*Chart) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot: %s: want a .png or .svg file", path)
	}
	if len(charts) == 0 {
		return errors.New("plot: no chart")
	}
	plots := make([]*gplot.Plot, len(charts))
	for i, c := range charts {
		p, err := c.build()
		if err != nil {
			return err
		}
		plots[i] = p
	}
	w := chartW * vg.Length(len(charts))
	cw, err := draw.NewFormattedCanvas(w, chartH, format)
	if err != nil {
		return err
	}
	dc := draw.New(cw)
	if len(plots) == 1 {
		plots[0].Draw(dc)
	} else {
		t := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Points(12), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
		cs := gplot.Align([][]*gplot.Plot{plots}, t, dc)
		for i, p := range plots {
			p.Draw(cs[0][i])
		}
	}
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}

// niceTicks labels up to 8 values at multiples of 1, 2 or 5 × 10^k, printed
// with no more digits than the step needs.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) {
		return []gplot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	// the smallest step of 1, 2 or 5 × 10^k that gives at most 8 labels
	mag := math.Pow(10, math.Floor(math.Log10((hi-lo)/10)))
	step := mag
search:
	for ; ; mag *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if step = m * mag; math.Floor(hi/step)-math.Ceil(lo/step)+1 <= 8 {
				break search
			}
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []gplot.Tick
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		val := math.Round(v/step) * step
		if val == 0 {
			val = 0 // no "-0"
		}
		ticks = append(ticks, gplot.Tick{Value: val, Label: strconv.FormatFloat(val, 'f', prec, 64)})
		// minor ticks halfway
		if mid := val + step/2; mid < hi {
			ticks = append(ticks, gplot.Tick{Value: mid})
		}
	}
	return ticks
}

// logTicks labels a logarithmic axis at 1, 2 and 5 × 10^k (only powers of
// ten when the range spans more than two decades, more when it spans less
// than one), so that every axis has at least two labels that read as
// plain numbers.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	decades := math.Log10(hi / lo)
	mult := []float64{1, 2, 5}
	switch {
	case decades > 2.5:
		mult = []float64{1}
	case decades < 0.7:
		mult = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	var ticks []gplot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		p := math.Pow(10, e)
		for m := 1; m < 10; m++ {
			v := float64(m) * p
			if v < lo || v > hi {
				continue
			}
			t := gplot.Tick{Value: v}
			for _, k := range mult {
				if float64(m) == k {
					// m × 10^e has at most −e decimals: 1000, not 1e+03
					t.Label = strconv.FormatFloat(v, 'f', max(0, -int(e)), 64)
				}
			}
			ticks = append(ticks, t)
		}
	}
	labelled := 0
	for _, t := range ticks {
		if t.Label != "" {
			labelled++
		}
	}
	if labelled < 2 { // a narrow range: evenly spaced plain numbers
		return niceTicks{}.Ticks(lo, hi)
	}
	return ticks
}
