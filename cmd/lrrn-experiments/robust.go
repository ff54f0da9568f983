package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lrrn/lrrn/internal/plot"
)

// robustRun is a robust-* experiment's final stage and its summary (nil
// when it has not been evaluated).
type robustRun struct {
	name string
	e    experiment
	s    stage
	sum  *Summary
}

// robustRuns returns the robust-* experiments in name order with their
// summaries.
func (r *runner) robustRuns() ([]robustRun, error) {
	ex := experiments()
	var out []robustRun
	for _, n := range names(ex) {
		if !strings.HasPrefix(n, "robust-") {
			continue
		}
		e := ex[n]
		rr := robustRun{name: n, e: e, s: e.stages[len(e.stages)-1]}
		sum, err := readSummary(filepath.Join(r.dir(e), "summary.json"))
		switch {
		case err == nil:
			rr.sum = sum
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
		out = append(out, rr)
	}
	return out, nil
}

// robustTables prints the certified-robust results next to the published
// anchors (results/README.md, "Certified-robust training").
func (r *runner) robustTables(w io.Writer) error {
	runs, err := r.robustRuns()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n### Certified-robust training: certified accuracy (%%) on the full test sets\n\n")
	fmt.Fprintln(w, "| experiment | model | epochs | clean accuracy | certified @ ε = 0.5 | @ 1.0 | @ 1.58 | ρ | median certified radius | training time |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, rr := range runs {
		n, e, s, sum := rr.name, rr.e, rr.s, rr.sum
		if sum == nil {
			fmt.Fprintf(w, "| %s | %s | not run | | | | | | | |\n", n, s.arch)
			continue
		}
		c, err := readCurve(filepath.Join(r.dir(e), "metrics.csv"))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| %s | %s %s | %d | %.2f | %.1f | %.1f | %.1f | %.4f | %.3f | %.0f min |\n", n, s.data, s.arch, c.epochs,
			100*sum.Accuracy, 100*sum.CertAcc["0.5"], 100*sum.CertAcc["1.0"], 100*sum.CertAcc["1.58"], sum.Rho, sum.MedianRadius, c.seconds/60)
	}
	fmt.Fprintf(w, "\n### Published deterministic certificates on MNIST at ε = 1.58\n\n")
	fmt.Fprintln(w, "| method (paper) | model | clean accuracy | certified @ 1.58 |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, a := range anchors {
		fmt.Fprintf(w, "| %s | %s | %.1f | %.1f |\n", a.Method, a.Model, a.Clean, a.Certified158)
	}
	return nil
}

// plotRuns is the most runs robustPlot draws per data set: the ones
// that certify most at ε = 1.58 (results/README.md's table lists all).
const plotRuns = 6

// robustPlot draws the certified accuracy against ε of the robust-*
// experiments that have a summary (summary.json's certified_curve) — per
// data set the plotRuns that certify most at ε = 1.58 —, one chart per
// data set, with the published MNIST results at ε = 1.58 as labelled
// points, into results/robust-certified.png and .svg.
func (r *runner) robustPlot() error {
	runs, err := r.robustRuns()
	if err != nil {
		return err
	}
	charts := map[string]*plot.Chart{}
	var order []string
	for _, rr := range runs {
		n, s, sum := rr.name, rr.s, rr.sum
		if sum == nil {
			continue
		}
		if len(sum.CertCurve) != curveSteps+1 {
			return fmt.Errorf("%s: summary.json has no certified_curve; run lrrn-experiments evaluate %s", n, n)
		}
		c, ok := charts[s.data]
		if !ok {
			c = plot.NewChart("certified accuracy, "+s.data+" test set (10,000 images)", "ℓ2 radius ε (pixels in [0,1])", "certified accuracy (%)")
			c.XMin, c.XMax, c.YMin, c.YMax = 0, 2.5, 0, 100
			// below the curves at small ε, clear of the anchors at 1.58
			c.LegendLeft, c.LegendBottom = true, true
			charts[s.data] = c
			order = append(order, s.data)
		}
		// the experiment's name tells runs of one architecture apart
		line := plot.Line{Name: fmt.Sprintf("%s (clean %.1f%%)", strings.TrimPrefix(n, "robust-"), 100*sum.Accuracy)}
		line.Dashed = !strings.Contains(s.objective, "eps=1.58,")
		for i, a := range sum.CertCurve {
			line.X = append(line.X, curveEps(i))
			line.Y = append(line.Y, 100*a)
		}
		c.Lines = append(c.Lines, line)
	}
	if len(order) == 0 {
		return errors.New("no robust-* experiment has a summary.json yet")
	}
	for _, c := range charts {
		c.Lines = bestAt158(c.Lines, plotRuns)
	}
	if c, ok := charts["mnist"]; ok {
		pts := plot.Points{Name: "published, ε = 1.58 (clean accuracy ≥ 86.5%)"}
		for _, a := range anchors {
			pts.X = append(pts.X, 1.58)
			pts.Y = append(pts.Y, a.Certified158)
			pts.Labels = append(pts.Labels, fmt.Sprintf("%s %.1f", a.Short, a.Certified158))
		}
		c.Points = append(c.Points, pts)
	}
	var cs []*plot.Chart
	for _, d := range order {
		cs = append(cs, charts[d])
	}
	for _, ext := range []string{"png", "svg"} {
		if err := plot.SaveRow(filepath.Join(r.results, "robust-certified."+ext), cs...); err != nil {
			return err
		}
	}
	return nil
}

// bestAt158 returns the n lines with the highest value at ε = 1.58 (the
// largest ε of the curve not above it), in their original order.
func bestAt158(lines []plot.Line, n int) []plot.Line {
	if len(lines) <= n {
		return lines
	}
	at := func(l plot.Line) float64 {
		v := math.Inf(-1)
		for i, x := range l.X {
			if x <= 1.58+1e-9 {
				v = l.Y[i]
			}
		}
		return v
	}
	idx := make([]int, len(lines))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return at(lines[idx[a]]) > at(lines[idx[b]]) })
	keep := idx[:n]
	sort.Ints(keep)
	out := make([]plot.Line, 0, n)
	for _, i := range keep {
		out = append(out, lines[i])
	}
	return out
}
