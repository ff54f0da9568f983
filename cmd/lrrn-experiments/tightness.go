package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
)

// Tightness compares certified radii with the distance of adversarial
// examples found by verify/attack's minimal-norm search on the exact
// model: the ratio found ÷ certified is ≥ 1 for a sound certificate, and
// its size says how much room the certificate leaves.
type Tightness struct {
	Experiment string    `json:"experiment"`
	Model      string    `json:"model"`
	Date       time.Time `json:"date"`
	Attack     string    `json:"attack"`
	Images     int       `json:"images"`   // first N test images
	Attacked   int       `json:"attacked"` // of those: certified and correctly classified, adversary found
	// Ratios of the found adversarial distance to the certified radius δ
	// and to the pairwise radius δ_pair: quartiles and minimum (RatioPair
	// and MedianPair are absent for a model without δ_pair, whose output
	// is not the reduced linear layer).
	RatioRadius stats.Quantiles  `json:"ratio_to_radius"`
	RatioPair   *stats.Quantiles `json:"ratio_to_pair_radius,omitempty"`
	MedianFound float64          `json:"median_found_distance"`
	// Methods counts the images by the search that found their smallest
	// adversarial example (attack.Found.Method).
	Methods      map[string]int `json:"methods"`
	MedianRadius float64        `json:"median_certified_radius"`
	MedianPair   *float64       `json:"median_pair_radius,omitempty"`
}

// attackCandidates is the number of nearest differently-predicted test
// images the search bisects towards.
const attackCandidates = 20

// tightness attacks the first n test images of e's final model: for each
// certified, correctly classified image x it runs attack.MinAdversarial
// inside the pixel box, with the attackCandidates test images nearest to
// x that the model assigns another class as interpolation candidates.
// Every point found provably changes the exact model's prediction, so its
// distance is an upper bound of x's minimal adversarial distance and
// found ÷ certified radius bounds the certificate's looseness from above
// (a stronger attack can only lower it); it must be ≥ 1.
func (r *runner) tightness(ctx context.Context, e experiment, n int) (*Tightness, error) {
	s := e.stages[len(e.stages)-1]
	path := r.file(e, s, "model.bin")
	m, err := lrrn.Load(path)
	if err != nil {
		return nil, err
	}
	test, err := dataset.LoadSplit(s.data, r.dataDirOf(s.data), dataset.Test)
	if err != nil {
		return nil, err
	}
	// the radii lrrn-verify certifies by default (passes as needed): a
	// fixed pass count would subtract the inference error of models whose
	// BCD converges slowly and overstate the room left
	c, err := verify.New(m, verify.Options{Workers: max(1, r.workers)})
	if err != nil {
		return nil, err
	}
	ex, err := attack.NewExact(m)
	if err != nil {
		return nil, err
	}
	N := test.N
	labels := make([]int, N)
	for i, y := range test.Labels {
		labels[i] = int(y)
	}
	certs := make([]verify.Certificate, N)
	if err := c.CertifyBatch(ctx, test.Pixels, labels, certs); err != nil {
		return nil, err
	}
	preds := make([]int, N)
	for i, ct := range certs {
		preds[i] = ct.Pred
	}
	n = min(n, N)
	opts := attack.Options{Box: true, Candidates: attackCandidates}.WithDefaults()
	t := &Tightness{Experiment: e.name, Model: path, Date: time.Now().UTC().Truncate(time.Second), Images: n, Methods: map[string]int{},
		Attack: fmt.Sprintf("verify/attack MinAdversarial on the exact model inside the pixel box: DeepFool (≤ %d steps, overshoot %g, implicit-differentiation gradients of the exact minimiser) and bisection towards the %d nearest test images predicted as another class, then projections onto the linearised boundary (≤ %d), each point found bisected (%d halvings) for the first point the exact model provably misclassifies",
			opts.DeepFoolSteps, opts.Overshoot, opts.Candidates, opts.RefineSteps, opts.Bisections)}
	type result struct {
		found attack.Found
		cert  verify.Certificate
	}
	results := make([]*result, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, r.workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := ex.NewAttacker(opts)
			for i := range next {
				x := f64(test.Image(i))
				results[i] = &result{found: a.MinAdversarial(x, labels[i], nil, attack.NearestOther(test.Image(i), test.Pixels, test.Dim(), preds, labels[i], attackCandidates)), cert: certs[i]}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if certs[i].Certified && certs[i].Pred == labels[i] {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rr, rp, found, rad, pr []float64
	for _, res := range results {
		if res == nil || res.found.X == nil {
			continue
		}
		ci, best := res.cert, res.found.Dist
		t.Attacked++
		t.Methods[res.found.Method]++
		found = append(found, best)
		rad = append(rad, ci.Radius)
		rr = append(rr, best/ci.Radius)
		if !math.IsNaN(ci.PairRadius) && ci.PairRadius > 0 {
			pr = append(pr, ci.PairRadius)
			rp = append(rp, best/ci.PairRadius)
		}
	}
	if len(rr) == 0 {
		return nil, fmt.Errorf("tightness: no certified, correctly classified image among the first %d had an adversarial example found", n)
	}
	t.RatioRadius = stats.Summarize(rr)
	t.MedianFound, t.MedianRadius = stats.Median(found), stats.Median(rad)
	if len(rp) > 0 {
		q, m := stats.Summarize(rp), stats.Median(pr)
		t.RatioPair, t.MedianPair = &q, &m
	}
	js, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	return t, os.WriteFile(filepath.Join(r.dir(e), "tightness.json"), append(js, '\n'), 0o644)
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
