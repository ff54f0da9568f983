package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
)

const attackUsage = `lrrn-verify attack measures how tight the certificates are: it searches
for the smallest adversarial perturbation of each certified image and
divides its length by the certified radius.

Usage:
  lrrn-verify attack [flags] MODEL IMAGES

For each of the first --n images that is certified (and, with --labels,
correctly classified) it runs a minimal-norm search on the exact model
(the energy's minimiser in float64, not the finite-pass iterate):
DeepFool steps with input gradients by implicit differentiation, bisection
towards the --candidates nearest images of the file that the model assigns
another class, and projections onto the linearised class boundary. Every
point it reports provably changes the exact model's prediction, so

  ratio = found distance ÷ max(δ, δ_pair)

is at least 1 for a sound certificate, and how far above 1 says how much
room the certificate leaves (a stronger attack can only lower it). A ratio
below 1 would mean a broken certificate: the command then fails (status 1).
Distances are ℓ2 in pixel units over all of R^d (the certificate's
domain), or inside the pixel box [0,1]^d with --box.

Cost: each image takes a few hundred solves of the exact model and a
Cholesky factor per face of the minimiser (N³/3 for N variable units, or
O(N²) per unit from a nearby face): about 0.1 s per image and core at
784-64-64-10, 0.5 s at 784-256-256-10, about 10 s at 784-1024-1024-10
(plus half a minute of setup).

Examples:
  lrrn-verify attack --labels t10k-labels-idx1-ubyte.gz --n 100 mnist.lrrn t10k-images-idx3-ubyte.gz
  lrrn-verify attack --json --box mnist.lrrn images.gz > tightness.json

A broken certificate is a failure (exit status 1).
` + cli.ExitHelp + `
Flags:
`

type attackOptions struct {
	labels        string
	n, candidates int
	json, box     bool
	passes        int
	workers       int
	model, images string
}

func parseAttack(args []string, stderr io.Writer) (*attackOptions, error) {
	o := &attackOptions{}
	fs := cli.NewFlagSet("lrrn-verify attack", attackUsage, stderr)
	fs.StringVar(&o.labels, "labels", "", "IDX label file (raw or gzip): attack only correctly classified images, margins w.r.t. the labels")
	fs.IntVar(&o.n, "n", 100, "attack the first N images (0: all)")
	fs.IntVar(&o.candidates, "candidates", 20, "bisect towards this many nearest images predicted as another class")
	fs.BoolVar(&o.json, "json", false, "write JSON (model, one record per image, summary) instead of text")
	fs.BoolVar(&o.box, "box", false, "keep perturbed images in the pixel box [0,1]^d")
	fs.IntVar(&o.passes, "passes", 0, "BCD passes of the certifier (0: as needed, as lrrn-verify's default)")
	fs.IntVar(&o.workers, "workers", 0, "goroutines (0: all cores)")
	pos, err := cli.ParseInterspersed(fs, args, stderr)
	if err != nil {
		return nil, err
	}
	switch {
	case o.n < 0:
		return nil, cli.Usagef("--n %d: want 0 (all) or more", o.n)
	case o.candidates < 0:
		return nil, cli.Usagef("--candidates %d: want 0 or more", o.candidates)
	case o.passes < 0 || o.passes > 1<<20:
		return nil, cli.Usagef("--passes %d: want 0 (as needed) … %d", o.passes, 1<<20)
	case o.workers < 0 || o.workers > 1024:
		return nil, cli.Usagef("--workers %d: want 0 (all cores) … 1024", o.workers)
	case len(pos) != 2:
		return nil, cli.Usagef("attack wants two arguments, MODEL and IMAGES (got %d)", len(pos))
	}
	o.model, o.images = pos[0], pos[1]
	if o.workers == 0 {
		o.workers = runtime.NumCPU()
	}
	return o, nil
}

// runAttack is "lrrn-verify attack".
func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseAttack(args, stderr)
	if err != nil {
		return cli.Status("lrrn-verify attack", err, stderr)
	}
	err = attackImages(ctx, o, stdout)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "lrrn-verify attack: interrupted")
		return cli.ExitInterrupted
	}
	return cli.Status("lrrn-verify attack", err, stderr)
}

// attackRecord is one image's result.
type attackRecord struct {
	Index     int     `json:"index"`
	Label     int     `json:"label"` // the given label, or the prediction without --labels
	Pred      int     `json:"pred"`
	Certified bool    `json:"certified"`
	Radius    float64 `json:"radius"`            // δ
	Pair      *num    `json:"pair_radius"`       // δ_pair (null: not available for this model)
	Best      float64 `json:"certified_radius"`  // max(δ, δ_pair)
	Found     *num    `json:"found_distance"`    // null: not attacked, or nothing found
	Ratio     *num    `json:"ratio"`             // found ÷ certified_radius
	Class     *int    `json:"adversarial_class"` // the exact model's class at the point found
	Method    string  `json:"method,omitempty"`  // which search found it
	Skipped   string  `json:"skipped,omitempty"` // why it was not attacked
	attacked  bool
}

// num is a float64 that encodes non-finite values as null.
type num float64

func (v num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(v))
}

func ptr(v float64) *num {
	if math.IsNaN(v) {
		return nil
	}
	n := num(v)
	return &n
}

// attackSummary is the summary over the attacked images.
type attackSummary struct {
	Images   int             `json:"images"`   // the first N of the file
	Attacked int             `json:"attacked"` // certified (and correct with labels)
	Found    int             `json:"found"`    // adversarial example found
	Broken   int             `json:"broken"`   // found inside the certified radius: must be 0
	Ratio    stats.Quantiles `json:"ratio"`    // found ÷ max(δ, δ_pair)
	// Median found distance and certified radius over the images found.
	MedianFound  float64        `json:"median_found_distance"`
	MedianRadius float64        `json:"median_certified_radius"`
	Methods      map[string]int `json:"methods"`
	Box          bool           `json:"box"`
	Candidates   int            `json:"candidates"`
	Seconds      float64        `json:"seconds"`
}

func readAttackInputs(o *attackOptions, m *lrrn.Model) (*idx.Images, []int, error) {
	im, err := idx.ReadImages(o.images)
	if err != nil {
		return nil, nil, fmt.Errorf("images: %w", err)
	}
	if d := im.Rows * im.Cols; d != m.Sizes[0] {
		return nil, nil, fmt.Errorf("images: %s holds %d×%d images (%d pixels), but the model %s takes %d inputs", o.images, im.Rows, im.Cols, d, o.model, m.Sizes[0])
	}
	for i, v := range im.Pixels {
		if !(v >= 0 && v <= 1) {
			d := im.Dim()
			return nil, nil, fmt.Errorf("images: %s: image %d pixel %d is %v, want a value in [0,1]", o.images, i/d, i%d, v)
		}
	}
	var labels []int
	if o.labels != "" {
		lb, err := idx.ReadLabels(o.labels)
		if err != nil {
			return nil, nil, fmt.Errorf("labels: %w", err)
		}
		if len(lb) != im.N {
			return nil, nil, fmt.Errorf("labels: %s has %d labels, but %s has %d images", o.labels, len(lb), o.images, im.N)
		}
		classes := m.Sizes[m.L()]
		labels = make([]int, len(lb))
		for i, l := range lb {
			if int(l) >= classes {
				return nil, nil, fmt.Errorf("labels: %s: label %d is %d, but the model has %d classes (0 … %d)", o.labels, i, l, classes, classes-1)
			}
			labels[i] = int(l)
		}
	}
	return im, labels, nil
}

func attackImages(ctx context.Context, o *attackOptions, stdout io.Writer) error {
	start := time.Now()
	m, err := lrrn.Load(o.model)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	c, err := verify.New(m, verify.Options{Passes: o.passes, Workers: o.workers})
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	ex, err := attack.NewExact(m)
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	im, labels, err := readAttackInputs(o, m)
	if err != nil {
		return err
	}
	// Certify every image: the others' predictions choose the candidates.
	certs := make([]verify.Certificate, im.N)
	if err := c.CertifyBatch(ctx, im.Pixels, labels, certs); err != nil {
		return err
	}
	preds := make([]int, im.N)
	for i, ct := range certs {
		preds[i] = ct.Pred
	}
	n := im.N
	if o.n > 0 {
		n = min(n, o.n)
	}
	recs := make([]attackRecord, n)
	for i := range recs {
		ct := certs[i]
		r := &recs[i]
		*r = attackRecord{Index: i, Label: ct.Label, Pred: ct.Pred, Certified: ct.Certified, Radius: ct.Radius, Pair: ptr(ct.PairRadius), Best: ct.Radius}
		if ct.PairRadius > r.Best {
			r.Best = ct.PairRadius
		}
		switch {
		case !ct.Certified:
			r.Skipped = "not certified"
		case ct.Pred != ct.Label:
			r.Skipped = "misclassified"
		default:
			r.attacked = true
		}
	}
	opts := attack.Options{Box: o.box, Candidates: max(1, o.candidates)}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(o.workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := ex.NewAttacker(opts)
			for i := range next {
				r := &recs[i]
				x := f64(im.Image(i))
				var cands [][]float64
				if o.candidates > 0 {
					cands = attack.NearestOther(im.Image(i), im.Pixels, im.Dim(), preds, certs[i].Label, o.candidates)
				}
				f := a.MinAdversarial(x, r.Label, nil, cands)
				if f.X == nil {
					continue
				}
				r.Found, r.Ratio = ptr(f.Dist), ptr(f.Dist/r.Best)
				r.Class, r.Method = &f.Class, f.Method
			}
		}()
	}
	for i := range recs {
		if ctx.Err() != nil {
			break
		}
		if recs[i].attacked {
			select {
			case next <- i:
			case <-ctx.Done():
			}
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	s := attackSummary{Images: n, Methods: map[string]int{}, Box: o.box, Candidates: o.candidates}
	var ratios, found, radii []float64
	for _, r := range recs {
		if !r.attacked {
			continue
		}
		s.Attacked++
		if r.Found == nil {
			continue
		}
		s.Found++
		s.Methods[r.Method]++
		ratios = append(ratios, float64(*r.Ratio))
		found = append(found, float64(*r.Found))
		radii = append(radii, r.Best)
		if float64(*r.Found) <= r.Best {
			s.Broken++
		}
	}
	s.Ratio = stats.Summarize(ratios)
	s.MedianFound, s.MedianRadius = stats.Median(found), stats.Median(radii)
	s.Seconds = time.Since(start).Seconds()
	if o.json {
		err = writeAttackJSON(stdout, c, recs, s)
	} else {
		err = writeAttackText(stdout, o, c, ex, recs, s)
	}
	if err != nil {
		return err
	}
	if s.Broken > 0 {
		return fmt.Errorf("%d certificates broken: the exact model changes its prediction inside the certified radius (report this with the model and images)", s.Broken)
	}
	return nil
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func writeAttackJSON(w io.Writer, c *verify.Certifier, recs []attackRecord, s attackSummary) error {
	out := struct {
		Model   verify.ModelInfo `json:"model"`
		Images  []attackRecord   `json:"images"`
		Summary attackSummary    `json:"summary"`
	}{c.Info(), recs, s}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func fmtNum(v *num, prec int) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(float64(*v), 'f', prec, 64)
}

func writeAttackText(w io.Writer, o *attackOptions, c *verify.Certifier, ex *attack.Exact, recs []attackRecord, s attackSummary) error {
	m := c.Model()
	arch := make([]string, len(m.Sizes))
	for i, d := range m.Sizes {
		arch[i] = strconv.Itoa(d)
	}
	in := c.Info()
	bw := &errWriter{w: w}
	where := "R^d"
	if o.box {
		where = "the pixel box [0,1]^d"
	}
	bw.printf("model %s: %s, %s, β = %v, γ = %g; ρ ≤ %.4f\n", o.model, strings.Join(arch, "-"), strings.Join(in.Activations, "/"), m.Beta, m.Gamma, c.Bounds().Rho)
	bw.printf("attack: minimal-norm search on the exact model (%d variable units) in %s; %d interpolation candidates per image\n\n", ex.Size(), where, o.candidates)
	bw.printf("%6s %5s %5s %9s %8s %8s %9s %7s  %s\n", "index", "label", "pred", "certified", "δ", "δ_pair", "found", "ratio", "method")
	for _, r := range recs {
		yes := "no"
		if r.Certified {
			yes = "yes"
		}
		method := r.Method
		if !r.attacked {
			method = "(" + r.Skipped + ")"
		} else if r.Found == nil {
			method = "(nothing found)"
		}
		bw.printf("%6d %5d %5d %9s %8.4f %8s %9s %7s  %s\n", r.Index, r.Label, r.Pred, yes, r.Radius, fmtNum(r.Pair, 4), fmtNum(r.Found, 4), fmtNum(r.Ratio, 3), method)
	}
	bw.printf("\n%d of the first %d images certified%s and attacked; adversarial example found for %d\n", s.Attacked, s.Images, map[bool]string{true: ", correct", false: ""}[o.labels != ""], s.Found)
	if s.Found > 0 {
		q := s.Ratio
		bw.printf("found ÷ certified radius max(δ, δ_pair): min %.3f, quartiles %.3f / %.3f / %.3f, max %.3f\n", q.Min, q.Q25, q.Median, q.Q75, q.Max)
		bw.printf("median found distance %.4f, median certified radius %.4f\n", s.MedianFound, s.MedianRadius)
	}
	bw.printf("certificates broken (found ≤ certified radius): %d\n", s.Broken)
	bw.printf("time: %.1f s\n", s.Seconds)
	return bw.err
}
