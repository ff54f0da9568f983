package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

// Tightness compares certified radii with the distance of adversarial
// examples found by a simple attack (see tightness): the ratio found ÷
// certified is ≥ 1 for a sound certificate, and its size says how much
// room the certificate leaves.
type Tightness struct {
	Experiment string    `json:"experiment"`
	Model      string    `json:"model"`
	Date       time.Time `json:"date"`
	Attack     string    `json:"attack"`
	Images     int       `json:"images"`   // first N test images
	Attacked   int       `json:"attacked"` // of those: certified and correctly classified, adversary found
	// Ratios of the found adversarial distance to the certified radius δ
	// and to the pairwise radius δ_pair: quartiles and minimum.
	RatioRadius Quantiles `json:"ratio_to_radius"`
	RatioPair   Quantiles `json:"ratio_to_pair_radius"`
	MedianFound float64   `json:"median_found_distance"`
	// per attack: how many images it found an adversary for, and the
	// median distance it found
	DeepFoolFound  int     `json:"deepfool_found"`
	MedianDeepFool float64 `json:"median_deepfool_distance"`
	InterpFound    int     `json:"interpolation_found"`
	MedianInterp   float64 `json:"median_interpolation_distance"`
	MedianRadius   float64 `json:"median_certified_radius"`
	MedianPair     float64 `json:"median_pair_radius"`
}

// Quantiles of a sample.
type Quantiles struct {
	Min, Q25, Median, Q75, Max float64
}

func quantiles(v []float64) Quantiles {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return Quantiles{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	}
	q := func(p float64) float64 { return s[int(math.Round(p*float64(len(s)-1)))] }
	return Quantiles{s[0], q(0.25), medianOf(s), q(0.75), s[len(s)-1]}
}

const (
	attackCandidates = 20 // nearest differently-predicted test images tried per image
	attackBisections = 30
	// random-search steps along the boundary and their bisections
	attackWalk           = 50
	attackDeepFoolIter   = 50
	attackWalkBisections = 12
)

// tightness attacks the first n test images of e's final model: for each
// certified, correctly classified image x it takes the attackCandidates
// test images nearest to x (ℓ2) that the model assigns another class, and
// bisects each segment x → x' (inside the pixel box) for the first point
// that the exact model provably misclassifies (the 20-pass iterate's margin
// to x's label plus verify's certified bound on its error is negative). The smallest such distance is an upper
// bound of x's true minimal adversarial distance, so found ÷ certified
// radius bounds the certificate's looseness from above (a stronger attack
// can only lower it) and must be ≥ 1.
func (r *runner) tightness(ctx context.Context, e experiment, n int) (*Tightness, error) {
	s := e.stages[len(e.stages)-1]
	path := r.file(e, s, "model.bin")
	m, err := lrrn.Load(path)
	if err != nil {
		return nil, err
	}
	dir := ""
	if s.data == "kmnist" {
		dir = r.dataDir
	}
	test, err := dataset.LoadSplit(s.data, dir, dataset.Test)
	if err != nil {
		return nil, err
	}
	c, err := verify.New(m, verify.Options{Passes: passes, Workers: max(1, r.workers)})
	if err != nil {
		return nil, err
	}
	N, D := test.N, test.Dim()
	labels := make([]int, N)
	for i, y := range test.Labels {
		labels[i] = int(y)
	}
	certs := make([]verify.Certificate, N)
	if err := c.CertifyBatch(ctx, test.Pixels, labels, certs); err != nil {
		return nil, err
	}
	n = min(n, N)
	t := &Tightness{Experiment: e.name, Model: path, Date: time.Now().UTC().Truncate(time.Second), Images: n,
		Attack: fmt.Sprintf("the smaller of two: (a) bisection on segments to the %d nearest test images predicted as another class (%d steps) for the first point provably misclassified by the exact model, then %d steps of random search along the boundary (seeded, %d bisections each); (b) DeepFool (≤ %d steps, overshoot 0.02) with implicit-differentiation gradients of the 20-pass state, then bisection of the segment to its end point for the first provably misclassified point", attackCandidates, attackBisections, attackWalk, attackWalkBisections, attackDeepFoolIter)}
	var rr, rp, found, rad, pr, dfs, interps []float64
	g, err := newGrader(m, passes)
	if err != nil {
		return nil, err
	}
	pt := make([]float32, D)
	certAt := func(x, y []float32, a float64, label int) (verify.Certificate, error) {
		for j := range pt {
			pt[j] = float32((1-a)*float64(x[j]) + a*float64(y[j]))
		}
		return c.Certify(pt, label)
	}
	// adv reports that the exact model provably misclassifies the point:
	// the iterate's margin plus its certified error bound is negative.
	adv := func(x, y []float32, a float64, label int) (bool, error) {
		ct, err := certAt(x, y, a, label)
		return ct.Margin+(ct.Margin-ct.MarginLower) < 0, err
	}
	adir := make([]float64, D)
	cand := make([]float32, D)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ci := certs[i]
		if !ci.Certified || ci.Pred != labels[i] {
			continue
		}
		x := test.Image(i)
		var cands []struct {
			j int
			d float64
		}
		for j := 0; j < N; j++ {
			if certs[j].Pred == labels[i] {
				continue
			}
			var d float64
			xj := test.Image(j)
			for k := range x {
				v := float64(x[k]) - float64(xj[k])
				d += v * v
			}
			cands = append(cands, struct {
				j int
				d float64
			}{j, math.Sqrt(d)})
		}
		slices.SortFunc(cands, func(a, b struct {
			j int
			d float64
		}) int {
			return cmpF(a.d, b.d)
		})
		best := math.Inf(1)
		for _, cd := range cands[:min(attackCandidates, len(cands))] {
			if cd.d >= best {
				break
			}
			xj := test.Image(cd.j)
			if a, err := adv(x, xj, 1, labels[i]); err != nil {
				return nil, err
			} else if !a {
				continue
			}
			lo, hi := 0.0, 1.0
			for b := 0; b < attackBisections; b++ {
				mid := (lo + hi) / 2
				a, err := adv(x, xj, mid, labels[i])
				if err != nil {
					return nil, err
				}
				if a {
					hi = mid
				} else {
					lo = mid
				}
			}
			if hi*cd.d < best {
				best = hi * cd.d
				for k := range adir {
					adir[k] = hi * (float64(xj[k]) - float64(x[k]))
				}
			}
		}
		if !math.IsInf(best, 1) {
			// random search along the decision boundary: perturb the best
			// direction, keep the pixel box, bisect the ray from x for the
			// first provably misclassified point, accept shorter ones
			sigma := 0.3
			for it := 0; it < attackWalk; it++ {
				for k := range cand {
					v := float64(x[k]) + adir[k] + sigma*best/math.Sqrt(float64(D))*rng.NormFloat64()
					cand[k] = float32(math.Max(0, math.Min(1, v)))
				}
				a, err := adv(x, cand, 1, labels[i])
				if err != nil {
					return nil, err
				}
				if !a {
					sigma *= 0.9
					continue
				}
				var cn float64
				for k := range cand {
					v := float64(cand[k]) - float64(x[k])
					cn += v * v
				}
				cn = math.Sqrt(cn)
				lo, hi := 0.0, 1.0
				for b := 0; b < attackWalkBisections; b++ {
					mid := (lo + hi) / 2
					a, err := adv(x, cand, mid, labels[i])
					if err != nil {
						return nil, err
					}
					if a {
						hi = mid
					} else {
						lo = mid
					}
				}
				if hi*cn < best {
					best = hi * cn
					for k := range adir {
						adir[k] = hi * (float64(cand[k]) - float64(x[k]))
					}
				} else {
					sigma *= 0.9
				}
			}
		}
		interp := best
		// DeepFool with implicit-differentiation gradients, then the
		// segment x → x_adv bisected for the first provably misclassified
		// point (stretched up to 2× when its end is not provable)
		x64 := make([]float64, D)
		for k, v := range x {
			x64[k] = float64(v)
		}
		xa, err := g.deepFool(x64, labels[i], attackDeepFoolIter, 0.02)
		if err != nil {
			return nil, err
		}
		df := math.Inf(1)
		if xa != nil {
			for k := range cand {
				cand[k] = float32(xa[k])
			}
			ok := false
			for stretch := 0; stretch < 10 && !ok; stretch++ {
				if ok, err = adv(x, cand, 1, labels[i]); err != nil {
					return nil, err
				}
				if !ok {
					for k := range cand {
						cand[k] = float32(math.Max(0, math.Min(1, float64(x[k])+1.1*(float64(cand[k])-float64(x[k])))))
					}
				}
			}
			if ok {
				var cn float64
				for k := range cand {
					v := float64(cand[k]) - float64(x[k])
					cn += v * v
				}
				lo, hi := 0.0, 1.0
				for b := 0; b < attackBisections; b++ {
					mid := (lo + hi) / 2
					a, err := adv(x, cand, mid, labels[i])
					if err != nil {
						return nil, err
					}
					if a {
						hi = mid
					} else {
						lo = mid
					}
				}
				df = hi * math.Sqrt(cn)
			}
		}
		best = math.Min(best, df)
		if math.IsInf(best, 1) {
			continue
		}
		if !math.IsInf(df, 1) {
			dfs = append(dfs, df)
		}
		if !math.IsInf(interp, 1) {
			interps = append(interps, interp)
		}
		t.Attacked++
		found = append(found, best)
		rad = append(rad, ci.Radius)
		rr = append(rr, best/ci.Radius)
		if !math.IsNaN(ci.PairRadius) && ci.PairRadius > 0 {
			pr = append(pr, ci.PairRadius)
			rp = append(rp, best/ci.PairRadius)
		}
	}
	t.RatioRadius, t.RatioPair = quantiles(rr), quantiles(rp)
	t.MedianFound, t.MedianRadius, t.MedianPair = medianOf(found), medianOf(rad), medianOf(pr)
	t.MedianDeepFool, t.MedianInterp, t.DeepFoolFound, t.InterpFound = medianOf(dfs), medianOf(interps), len(dfs), len(interps)
	js, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	return t, os.WriteFile(filepath.Join(r.dir(e), "tightness.json"), append(js, '\n'), 0o644)
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
