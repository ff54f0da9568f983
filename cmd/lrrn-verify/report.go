package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/jsonnum"
	"github.com/lrrn/lrrn/verify"
)

// schemaVersion is the version of the --json report (docs/report-format.md).
// Version 1 was the unversioned report before the renaming of summary
// fields that misled (passes' Min/Median/Max, certified_accuracy's radius
// and best_radius, test_accuracy, median_delta_seed_style).
const schemaVersion = 2

// output writes the report as the certificates arrive: text (a header, a
// table row per input, the summary) or one JSON document (model, inputs,
// summary) whose records are written one by one.
type output struct {
	w        *errWriter
	o        *options
	c        *verify.Certifier
	labelled bool
	records  int
}

func newOutput(w io.Writer, o *options, c *verify.Certifier, labelled bool) (*output, error) {
	out := &output{w: &errWriter{w: w}, o: o, c: c, labelled: labelled}
	if o.json {
		model, err := json.MarshalIndent(c.Info(), "  ", "  ")
		if err != nil {
			return nil, err
		}
		out.w.printf("{\n  \"schema_version\": %d,\n  \"model\": %s,\n  \"inputs\": [", schemaVersion, model)
	} else {
		writeTextHeader(out.w, o, c)
	}
	return out, out.w.err
}

func (out *output) err() error { return out.w.err }

func (out *output) record(i int, ct verify.Certificate, label int) {
	if out.o.quiet || out.w.err != nil {
		return
	}
	if out.o.json {
		b, err := json.MarshalIndent(verify.NewRecord(i, ct), "    ", "  ")
		if err != nil {
			out.w.err = err
			return
		}
		sep := ",\n    "
		if out.records == 0 {
			sep = "\n    "
		}
		out.w.printf("%s%s", sep, b)
	} else {
		if out.records == 0 {
			out.w.printf("%6s %5s %5s %9s %8s %8s %9s %6s\n", "index", "label", "pred", "margin", "δ", "δ_pair", "certified", "passes")
		}
		lab := "—"
		if out.labelled {
			lab = strconv.Itoa(label)
		}
		yes := "no"
		if ct.Certified {
			yes = "yes"
		}
		out.w.printf("%6d %5s %5d %9.4f %8s %8s %9s %6d\n", i, lab, ct.Pred, ct.Margin, radius(ct.Radius), radius(ct.PairRadius), yes, ct.Passes)
	}
	out.records++
}

func (out *output) finish(s summary) error {
	if out.o.json {
		if out.records > 0 {
			out.w.printf("\n  ")
		}
		b, err := json.MarshalIndent(s, "  ", "  ")
		if err != nil {
			return err
		}
		out.w.printf("],\n  \"summary\": %s\n}\n", b)
		return out.w.err
	}
	if out.records > 0 {
		out.w.printf("\n")
	}
	writeTextSummary(out.w, out.labelled, s)
	return out.w.err
}

// numInf is jsonnum.Finite for a radius: +Inf (unbounded, ρ = 0) is null in
// JSON with a flag set.
func numInf(x float64) (*float64, bool) { return jsonnum.Finite(x), math.IsInf(x, 1) }

// f4inf is f4 for a radius that may be unbounded.
func f4inf(p *float64, unbounded bool) string {
	if unbounded {
		return "∞"
	}
	return f4(p)
}

func f4(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

func radius(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.IsInf(v, 1):
		return "∞"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func writeTextHeader(bw *errWriter, o *options, c *verify.Certifier) {
	m := c.Model()
	b := c.Bounds()
	in := c.Info()
	arch := make([]string, len(m.Sizes))
	for i, d := range m.Sizes {
		arch[i] = strconv.Itoa(d)
	}
	ells := make([]string, len(b.Layers))
	ests := make([]string, len(b.Layers))
	for i, l := range b.Layers {
		ells[i] = strconv.FormatFloat(l.Ell, 'f', 4, 64)
		ests[i] = strconv.FormatFloat(l.EllEstimate, 'f', 4, 64)
	}
	passes := fmt.Sprintf("%d passes", c.Options().Passes)
	if sw := c.Options().Sweeps; sw > 1 {
		passes += fmt.Sprintf(" of %d sweeps", sw)
	}
	if c.Options().Adaptive {
		passes += fmt.Sprintf(", adaptive up to %d", c.Options().MaxPasses)
	}
	passes += ", residual in " + c.Info().Residual
	bw.printf("model %s: %s, %s, β = %v, γ = %g; %s; SIMD %s, %d workers\n",
		o.model, strings.Join(arch, "-"), strings.Join(in.Activations, "/"), m.Beta, m.Gamma, passes, asm.CurrentTier(), c.Options().Workers)
	bw.printf("ρ ≤ %.4f (certified: ℓ = %s)", b.Rho, strings.Join(ells, " · "))
	if b.Reduced {
		bw.printf("; pairwise Π_{k<L−1} ℓ_k ≤ %.4f", b.RhoPre)
	}
	bw.printf("\nestimate %.4f = %s (as the paper computes ρ, at Lanczos estimates of σ_max; NOT sound)\n", b.RhoEstimate, strings.Join(ests, " · "))
	bw.printf("μ ≥ %.4g (certified strong convexity of the block-scaled energy)\n\n", b.MuBest)
}

func writeTextSummary(bw *errWriter, labelled bool, s summary) {
	bw.printf("%-10s %8s %9s %9s %8s %9s %14s\n", "", "ρ", "mean(m)", "median(m)", "std(m)", "median δ", "accuracy")
	acc := "—"
	if s.Accuracy != nil {
		acc = fmt.Sprintf("%.2f%%", 100**s.Accuracy)
	}
	bw.printf("%-10s %8s %9s %9s %8s %9s %14s\n", "summary", f4(s.Rho), f4(s.MeanMargin), f4(s.MedianMargin), f4(s.StdMargin), f4inf(s.MedianDelta, s.MedianDeltaInf), acc)
	iterate := fmt.Sprintf("the %d-pass iterate", s.Passes.Max)
	if s.Passes.Min != s.Passes.Max {
		iterate = fmt.Sprintf("the final iterates, %d … %d passes", s.Passes.Min, s.Passes.Max)
	}
	bw.printf("(margins of %s%s; median δ = median(m)/(√2ρ) as in the paper, not a certificate)\n\n", iterate, map[bool]string{true: " w.r.t. the labels", false: " w.r.t. the predictions"}[labelled])
	bw.printf("certified (exact model, inference error accounted for): %d of %d; median certified δ %s, median δ_pair %s\n",
		s.Certified, s.Images, f4inf(s.MedianRadius, s.MedianRadiusInf), f4inf(s.MedianPairRadius, s.MedianPairInf))
	if len(s.CertifiedAccuracy) > 0 {
		bw.printf("certified accuracy (correct and certified at radius > ε):\n")
		bw.printf("  %8s %10s %12s\n", "ε", "with δ", "with δ_pair")
		for _, r := range s.CertifiedAccuracy {
			bw.printf("  %8g %9.2f%% %11.2f%%\n", r.Eps, 100*r.Accuracy, 100*r.AccuracyPair)
		}
	}
	bw.printf("passes per input: min %d, median %d, max %d\n", s.Passes.Min, s.Passes.Median, s.Passes.Max)
	bw.printf("time: %.3f s for %d images, %.0f images/s\n", s.Seconds, s.Images, s.ImagesPerSecond)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
