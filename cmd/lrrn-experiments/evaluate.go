package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/train"
	"github.com/lrrn/lrrn/verify"
)

// Summary is the evaluation of a supervised model on the full test set with
// package verify (the same certificates lrrn-verify prints): the paper's
// Table 1/2 columns, the project's sound radii and certified accuracies.
// It is written to results/NAME/summary.json.
type Summary struct {
	Experiment string    `json:"experiment"`
	Model      string    `json:"model"`
	Data       string    `json:"data"`
	Epochs     int       `json:"epochs"`
	Passes     int       `json:"passes"` // BCD passes of the certificates; 0: as needed (verify's default)
	N          int       `json:"n"`
	Date       time.Time `json:"date"`

	Accuracy float64 `json:"accuracy"`
	// Rho is verify's certified ρ; RhoEstimate the paper's estimate
	// from power-iteration σ_max only (NOT sound).
	Rho          float64 `json:"rho"`
	RhoEstimate  float64 `json:"rho_seed_style"`
	MeanMargin   float64 `json:"mean_margin"`
	MedianMargin float64 `json:"median_margin"`
	StdMargin    float64 `json:"std_margin"` // population standard deviation
	// MedianDelta is the paper's median δ = median(m)/(√2ρ) with the
	// certified ρ; MedianDeltaSeedStyle uses RhoEstimate.
	MedianDelta          float64 `json:"median_delta"`
	MedianDeltaSeedStyle float64 `json:"median_delta_seed_style"`
	// Median of verify's certified radius and pairwise radius over all
	// test inputs (0 for misclassified or uncertified ones).
	MedianRadius     float64 `json:"median_certified_radius"`
	MedianPairRadius float64 `json:"median_pair_radius"`
	CertifiedCorrect float64 `json:"certified_correct"` // fraction with a certified correct prediction (ε = 0)
	// Certified accuracy (fraction of test inputs whose certified radius
	// exceeds ε) at ε = 0.5, 1.0 and 1.58, with δ and with δ_pair.
	CertAcc     map[string]float64 `json:"certified_accuracy"`
	CertAccPair map[string]float64 `json:"certified_accuracy_pair"`
	// CertCurve is the certified accuracy (fraction, max(δ, δ_pair) > ε) at
	// ε = 0, 0.01, …, 2.5, for plots across experiments.
	CertCurve []float64 `json:"certified_curve,omitempty"`
	// MaxStateError is the largest certified inference error bound.
	MaxStateError float64 `json:"max_state_error"`
}

func fracAbove(v []float64, eps float64) float64 {
	c := 0
	for _, r := range v {
		if r > eps {
			c++
		}
	}
	return float64(c) / float64(len(v))
}

// evaluate certifies the final model of e on the full test set and writes
// summary.json and (supervised) certified.png into the experiment's
// directory.
func (r *runner) evaluate(ctx context.Context, e experiment) (*Summary, error) {
	s := e.stages[len(e.stages)-1]
	path := r.file(e, s, "model.bin")
	done, ok, err := progress(path)
	if err != nil {
		return nil, err
	}
	if !ok || done < s.epochs {
		return nil, fmt.Errorf("evaluate: %s has %d/%d epochs; finish the run first", path, done, s.epochs)
	}
	m, st, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	// redraw the training curves from the checkpoint's history with this
	// build's charts (a run's curves.png is drawn by the lrrn-train that ran it)
	if err := plot.Curves(r.file(e, s, "curves.png"), st.History, s.unsupervised); err != nil {
		return nil, err
	}
	test, err := dataset.LoadSplit(s.data, r.dataDirOf(s.data), dataset.Test)
	if err != nil {
		return nil, err
	}
	// lrrn-verify's default: passes as needed (the summary records 0). The
	// summaries of the paper's experiments were made with 20 fixed passes
	// before that default existed; each records its passes.
	c, err := verify.New(m, verify.Options{Workers: max(1, r.workers)})
	if err != nil {
		return nil, err
	}
	labels := make([]int, test.N)
	for i, y := range test.Labels {
		labels[i] = int(y)
	}
	certs := make([]verify.Certificate, test.N)
	if err := c.CertifyBatch(ctx, test.Pixels, labels, certs); err != nil {
		return nil, err
	}
	b := c.Bounds()
	sum := &Summary{Experiment: e.name, Model: path, Data: s.data, Epochs: done, Passes: 0, N: test.N,
		Date: time.Now().UTC().Truncate(time.Second), Rho: b.Rho, RhoEstimate: b.RhoEstimate,
		CertAcc: map[string]float64{}, CertAccPair: map[string]float64{}}
	margins := make([]float64, test.N)
	radii := make([]float64, test.N)
	pair := make([]float64, test.N)
	var mean float64
	correct := 0
	for i, ct := range certs {
		margins[i] = ct.Margin
		mean += ct.Margin
		if ct.Pred == labels[i] {
			correct++
		}
		radii[i] = ct.Radius
		pair[i] = ct.PairRadius
		if math.IsNaN(pair[i]) {
			pair[i] = 0
		}
		if ct.Certified {
			sum.CertifiedCorrect++
		}
		sum.MaxStateError = math.Max(sum.MaxStateError, ct.StateError)
	}
	n := float64(test.N)
	mean /= n
	var v float64
	for _, x := range margins {
		v += (x - mean) * (x - mean)
	}
	sum.Accuracy = float64(correct) / n
	sum.CertifiedCorrect /= n
	sum.MeanMargin, sum.StdMargin = mean, math.Sqrt(v/n)
	sum.MedianMargin = stats.Median(margins)
	sum.MedianDelta = sum.MedianMargin / (math.Sqrt2 * b.Rho)
	sum.MedianDeltaSeedStyle = sum.MedianMargin / (math.Sqrt2 * b.RhoEstimate)
	sum.MedianRadius, sum.MedianPairRadius = stats.Median(radii), stats.Median(pair)
	for _, k := range []string{"0.5", "1.0", "1.58"} {
		eps, _ := strconv.ParseFloat(k, 64)
		sum.CertAcc[k] = fracAbove(radii, eps)
		sum.CertAccPair[k] = fracAbove(pair, eps)
	}
	best := make([]float64, len(radii))
	for i, r := range radii {
		best[i] = max(r, pair[i]) // pair: 0 where not applicable
	}
	for i := 0; i <= curveSteps; i++ {
		sum.CertCurve = append(sum.CertCurve, fracAbove(best, curveEps(i)))
	}
	// certified accuracy over ε in [0, 2]
	const steps = 200
	xs := make([]float64, steps+1)
	cg, cp := make([]float64, steps+1), make([]float64, steps+1)
	for i := range xs {
		xs[i] = 2 * float64(i) / steps
		cg[i] = 100 * fracAbove(radii, xs[i])
		cp[i] = 100 * fracAbove(pair, xs[i])
	}
	ch := plot.NewChart(e.name+": certified accuracy on the "+s.data+" test set", "radius ε (ℓ2 distance, pixels in [0, 1])", "correct and certified at radius > ε (%)")
	ch.Lines = []plot.Line{{Name: "certified radius δ", X: xs, Y: cg}, {Name: "pairwise radius max(δ, δ_pair)", X: xs, Y: cp, Dashed: true}}
	ch.XMin, ch.XMax, ch.YMin, ch.YMax = 0, 2, 0, 100
	if err := ch.Save(filepath.Join(r.dir(e), "certified.png")); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	return sum, os.WriteFile(filepath.Join(r.dir(e), "summary.json"), append(js, '\n'), 0o644)
}

// The grid of Summary.CertCurve.
const curveSteps = 250

func curveEps(i int) float64 { return 2.5 * float64(i) / curveSteps }
