// Command lrrn-verify certifies the robustness of an LRRN's predictions:
// for every input it reports the prediction, the margin and a certified ℓ2
// radius within which the exact model (the minimiser of the energy, not
// just the finite-pass iterate) cannot change its prediction, plus a
// summary in the layout of the seed paper's Tables 1–2. "lrrn-verify
// serve" runs the same certification as an HTTP service. Run it with -h.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

// version is set with -ldflags "-X main.version=…"; otherwise the module
// version or VCS revision from the build information is used.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // bad input files, failures
	exitUsage = 2 // wrong flags or arguments
)

const usage = `lrrn-verify certifies an LRRN's predictions on a set of images.

Usage:
  lrrn-verify [flags] MODEL IMAGES
  lrrn-verify serve --model MODEL [--addr 127.0.0.1:8080] [flags]

MODEL is a model file (lrrn-train writes them); IMAGES an IDX image file,
raw or gzip (MNIST format: pixels scaled to [0,1]). For each image it
prints the prediction, the margin m (to the label with --labels, else to
the predicted class), the certified radius δ = m'/(√2ρ) and the pairwise
radius δ_pair, where m' is the margin minus a certified bound on the
inference error (finite BCD passes), and ρ a certified upper bound of the
network's Lipschitz constant. "certified" means the exact model predicts
the class at the image and everywhere within the radius (ℓ2, pixel units).
The summary follows the seed paper's Tables 1–2 (ρ, mean/median/std of m,
median δ = median(m)/(√2ρ), test accuracy) and adds the certified accuracy
at each --eps (correct and certified at a radius > ε).

serve: POST /v1/certify {"pixels":[…]} or {"batch":[[…],…]} (optional
"label"/"labels"), GET /v1/model, GET /healthz. SIGTERM or Ctrl-C stops it
after the requests in flight are answered.

Examples:
  lrrn-verify --labels t10k-labels-idx1-ubyte.gz mnist.lrrn t10k-images-idx3-ubyte.gz
  lrrn-verify --json --quiet --adaptive mnist.lrrn images.gz > report.json
  lrrn-verify serve --model mnist.lrrn --addr 127.0.0.1:8080

Exit status: 0 success, 1 bad input or failure, 2 usage error.

Flags:
`

type options struct {
	labels          string
	json, quiet     bool
	passes, workers int
	limit           int
	adaptive        bool
	maxPasses       int
	eps             []float64
	showVersion     bool
	model, images   string
	addr            string
	maxBody         int64
	maxBatch        int
	shutdownTimeout time.Duration
}

// usageError is reported with exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func parseEps(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("--eps: %q is not a radius ≥ 0 (want a list like 0.1,0.25,0.5)", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// parse reads flags and positional arguments in any order.
func parse(name string, args []string, stderr io.Writer, serve bool) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	eps := "0.1,0.25,0.5,1.0,1.58"
	fs.IntVar(&o.passes, "passes", 0, "BCD passes per input: 0 runs them as needed (5, then more only for inputs whose certificate is limited by the inference error), N exactly N")
	fs.IntVar(&o.workers, "workers", 0, "goroutines (0: all cores)")
	fs.BoolVar(&o.adaptive, "adaptive", false, "run more passes on inputs whose certificate is limited by the inference error")
	fs.IntVar(&o.maxPasses, "max-passes", 2000, "with --adaptive: at most this many passes per input")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and the SIMD tier, and exit")
	if serve {
		fs.StringVar(&o.model, "model", "", "model file (required)")
		fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
		fs.Int64Var(&o.maxBody, "max-body", 16<<20, "largest request body in bytes")
		fs.IntVar(&o.maxBatch, "max-batch", 1024, "most inputs in one request")
		fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM/SIGINT, how long requests in flight may take to finish")
	} else {
		fs.StringVar(&o.labels, "labels", "", "IDX label file (raw or gzip): margins and accuracy w.r.t. the labels")
		fs.BoolVar(&o.json, "json", false, "write JSON (model, one record per input, summary) instead of text")
		fs.StringVar(&eps, "eps", eps, "radii for the certified accuracy, comma-separated")
		fs.IntVar(&o.limit, "limit", 0, "certify only the first N images (0: all)")
		fs.BoolVar(&o.quiet, "quiet", false, "no per-input lines (text) or records (JSON); summary only")
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.showVersion {
		return o, nil
	}
	if o.passes < 0 || o.passes > 1<<20 {
		return nil, &usageError{fmt.Sprintf("--passes %d: want 0 (as needed) … %d", o.passes, 1<<20)}
	}
	if o.workers < 0 {
		return nil, &usageError{fmt.Sprintf("--workers %d: want 0 (all cores) or more", o.workers)}
	}
	if o.maxPasses < 1 {
		return nil, &usageError{fmt.Sprintf("--max-passes %d: want at least 1", o.maxPasses)}
	}
	if serve {
		if len(pos) != 0 {
			return nil, &usageError{fmt.Sprintf("serve takes no arguments (got %q); give the model with --model", pos)}
		}
		if o.model == "" {
			return nil, &usageError{"serve needs --model MODEL"}
		}
		if o.maxBody <= 0 || o.maxBatch <= 0 {
			return nil, &usageError{"--max-body and --max-batch must be positive"}
		}
		return o, nil
	}
	if o.limit < 0 {
		return nil, &usageError{fmt.Sprintf("--limit %d: want 0 (all) or more", o.limit)}
	}
	var err error
	if o.eps, err = parseEps(eps); err != nil {
		return nil, &usageError{err.Error()}
	}
	if len(pos) != 2 {
		return nil, &usageError{fmt.Sprintf("want two arguments, MODEL and IMAGES (got %d); see -h", len(pos))}
	}
	o.model, o.images = pos[0], pos[1]
	return o, nil
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
	}
	return fmt.Sprintf("lrrn-verify %s (SIMD %s; available %v; %s %s/%s)", v, asm.CurrentTier(), asm.Available(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	serve := len(args) > 0 && args[0] == "serve"
	name := "lrrn-verify"
	if serve {
		args = args[1:]
		name = "lrrn-verify serve"
	}
	o, err := parse(name, args, stderr, serve)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "lrrn-verify: %v\n", err)
		return exitUsage
	}
	if o.showVersion {
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	if serve {
		err = runServe(ctx, o, stderr)
	} else {
		err = certify(ctx, o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lrrn-verify: %s\n", oneLine(err))
		return exitError
	}
	return exitOK
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func loadCertifier(o *options) (*verify.Certifier, error) {
	m, err := lrrn.Load(o.model)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c, err := verify.New(m, verify.Options{Passes: o.passes, Workers: o.workers, Adaptive: o.adaptive, MaxPasses: o.maxPasses})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", o.model, err)
	}
	return c, nil
}

// inputs reads the images (and labels) and checks them against the model.
func inputs(o *options, m *lrrn.Model) (*idx.Images, []int, error) {
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
	if o.limit > 0 && o.limit < im.N {
		im.N = o.limit
		im.Pixels = im.Pixels[:o.limit*im.Dim()]
		if labels != nil {
			labels = labels[:o.limit]
		}
	}
	return im, labels, nil
}

// summary holds the table's statistics.
type summary struct {
	Images            int       `json:"images"`
	Labelled          bool      `json:"labelled"`
	Rho               *float64  `json:"rho"`
	MeanMargin        *float64  `json:"mean_margin"`
	MedianMargin      *float64  `json:"median_margin"`
	StdMargin         *float64  `json:"std_margin"`
	MedianDelta       *float64  `json:"median_delta_seed_style"`
	TestAccuracy      *float64  `json:"test_accuracy,omitempty"`
	Certified         int       `json:"certified"`
	MedianRadius      *float64  `json:"median_certified_radius"`
	MedianPairRadius  *float64  `json:"median_certified_pair_radius"`
	CertifiedAccuracy []epsRow  `json:"certified_accuracy,omitempty"`
	Seconds           float64   `json:"seconds"`
	ImagesPerSecond   float64   `json:"images_per_second"`
	Passes            passStats `json:"passes"`
}

type epsRow struct {
	Eps     float64 `json:"eps"`
	Radius  float64 `json:"radius"`      // fraction correct and certified with δ > ε
	PairOrδ float64 `json:"best_radius"` // … with max(δ, δ_pair) > ε
}

type passStats struct {
	Min, Median, Max int
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(c *verify.Certifier, certs []verify.Certificate, labels []int, eps []float64, elapsed time.Duration) summary {
	b := c.Bounds()
	n := len(certs)
	s := summary{Images: n, Labelled: labels != nil, Rho: verify.Num(b.Rho), Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		s.ImagesPerSecond = float64(n) / elapsed.Seconds()
	}
	margins := make([]float64, n)
	var radii, pairs, passes []float64
	var sum float64
	correct := 0
	for i, ct := range certs {
		margins[i] = ct.Margin
		sum += ct.Margin
		if ct.Certified {
			s.Certified++
		}
		radii = append(radii, ct.Radius)
		if !math.IsNaN(ct.PairRadius) {
			pairs = append(pairs, ct.PairRadius)
		}
		passes = append(passes, float64(ct.Passes))
		if labels != nil && ct.Pred == labels[i] {
			correct++
		}
	}
	if n > 0 {
		mean := sum / float64(n)
		var ss float64
		for _, m := range margins {
			ss += (m - mean) * (m - mean)
		}
		std := 0.0
		if n > 1 {
			std = math.Sqrt(ss / float64(n-1))
		}
		med := median(margins)
		s.MeanMargin, s.MedianMargin, s.StdMargin = verify.Num(mean), verify.Num(med), verify.Num(std)
		s.MedianDelta = verify.Num(med / (math.Sqrt2 * b.Rho))
		s.MedianRadius = verify.Num(median(radii))
		if len(pairs) > 0 {
			s.MedianPairRadius = verify.Num(median(pairs))
		}
		sort.Float64s(passes)
		s.Passes = passStats{int(passes[0]), int(median(passes)), int(passes[n-1])}
	}
	if labels != nil && n > 0 {
		s.TestAccuracy = verify.Num(float64(correct) / float64(n))
		for _, e := range eps {
			var a, bst int
			for i, ct := range certs {
				if !ct.Certified || ct.Pred != labels[i] {
					continue
				}
				if ct.Radius > e {
					a++
				}
				if ct.Radius > e || ct.PairRadius > e {
					bst++
				}
			}
			s.CertifiedAccuracy = append(s.CertifiedAccuracy, epsRow{Eps: e, Radius: float64(a) / float64(n), PairOrδ: float64(bst) / float64(n)})
		}
	}
	return s
}

func certify(ctx context.Context, o *options, stdout io.Writer) error {
	c, err := loadCertifier(o)
	if err != nil {
		return err
	}
	im, labels, err := inputs(o, c.Model())
	if err != nil {
		return err
	}
	certs := make([]verify.Certificate, im.N)
	start := time.Now()
	if err := c.CertifyBatch(ctx, im.Pixels, labels, certs); err != nil {
		return err
	}
	elapsed := time.Since(start)
	s := summarize(c, certs, labels, o.eps, elapsed)
	if o.json {
		return writeJSON(stdout, c, certs, s, o.quiet)
	}
	return writeText(stdout, o, c, certs, labels, s)
}

func writeJSON(w io.Writer, c *verify.Certifier, certs []verify.Certificate, s summary, quiet bool) error {
	out := struct {
		Model   verify.ModelInfo `json:"model"`
		Inputs  []verify.Record  `json:"inputs"`
		Summary summary          `json:"summary"`
	}{Model: c.Info(), Summary: s, Inputs: []verify.Record{}}
	if !quiet {
		out.Inputs = make([]verify.Record, len(certs))
		for i, ct := range certs {
			out.Inputs[i] = verify.NewRecord(i, ct)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
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

func writeText(w io.Writer, o *options, c *verify.Certifier, certs []verify.Certificate, labels []int, s summary) error {
	m := c.Model()
	b := c.Bounds()
	in := c.Info()
	arch := make([]string, len(m.Sizes))
	for i, d := range m.Sizes {
		arch[i] = strconv.Itoa(d)
	}
	ells := make([]string, len(b.Layers))
	seeds := make([]string, len(b.Layers))
	for i, l := range b.Layers {
		ells[i] = strconv.FormatFloat(l.Ell, 'f', 4, 64)
		seeds[i] = strconv.FormatFloat(l.EllSeed, 'f', 4, 64)
	}
	passes := fmt.Sprintf("%d passes", c.Options().Passes)
	if c.Options().Adaptive {
		passes += fmt.Sprintf(", adaptive up to %d", c.Options().MaxPasses)
	}
	bw := &errWriter{w: w}
	bw.printf("model %s: %s, %s, β = %v, γ = %g; %s; SIMD %s, %d workers\n",
		o.model, strings.Join(arch, "-"), strings.Join(in.Activations, "/"), m.Beta, m.Gamma, passes, asm.CurrentTier(), c.Options().Workers)
	bw.printf("ρ ≤ %.4f (certified: ℓ = %s)", b.Rho, strings.Join(ells, " · "))
	if b.Reduced {
		bw.printf("; pairwise Π_{k<L−1} ℓ_k ≤ %.4f", b.RhoPre)
	}
	bw.printf("\nseed-style estimate %.4f = %s (NOT sound: power-iteration σ_max only)\n", b.RhoSeed, strings.Join(seeds, " · "))
	bw.printf("μ ≥ %.4g (certified strong convexity of the block-scaled energy)\n\n", b.MuBest)
	if !o.quiet {
		bw.printf("%6s %5s %5s %9s %8s %8s %9s %6s\n", "index", "label", "pred", "margin", "δ", "δ_pair", "certified", "passes")
		for i, ct := range certs {
			lab := "—"
			if labels != nil {
				lab = strconv.Itoa(labels[i])
			}
			yes := "no"
			if ct.Certified {
				yes = "yes"
			}
			bw.printf("%6d %5s %5d %9.4f %8s %8s %9s %6d\n", i, lab, ct.Pred, ct.Margin, radius(ct.Radius), radius(ct.PairRadius), yes, ct.Passes)
		}
		bw.printf("\n")
	}
	bw.printf("%-10s %8s %9s %9s %8s %9s %14s\n", "", "ρ", "mean(m)", "median(m)", "std(m)", "median δ", "test accuracy")
	acc := "—"
	if s.TestAccuracy != nil {
		acc = fmt.Sprintf("%.2f%%", 100**s.TestAccuracy)
	}
	bw.printf("%-10s %8s %9s %9s %8s %9s %14s\n", "summary", f4(s.Rho), f4(s.MeanMargin), f4(s.MedianMargin), f4(s.StdMargin), f4(s.MedianDelta), acc)
	bw.printf("(margins of the %d-pass iterate%s; median δ = median(m)/(√2ρ) as in the seed)\n\n", c.Options().Passes, map[bool]string{true: " w.r.t. the labels", false: " w.r.t. the predictions"}[labels != nil])
	bw.printf("certified (exact model, inference error accounted for): %d of %d; median certified δ %s, median δ_pair %s\n",
		s.Certified, s.Images, f4(s.MedianRadius), f4(s.MedianPairRadius))
	if len(s.CertifiedAccuracy) > 0 {
		bw.printf("certified accuracy (correct and certified at radius > ε):\n")
		bw.printf("  %8s %10s %12s\n", "ε", "with δ", "with δ_pair")
		for _, r := range s.CertifiedAccuracy {
			bw.printf("  %8g %9.2f%% %11.2f%%\n", r.Eps, 100*r.Radius, 100*r.PairOrδ)
		}
	}
	bw.printf("passes per input: min %d, median %d, max %d\n", s.Passes.Min, s.Passes.Median, s.Passes.Max)
	bw.printf("time: %.3f s for %d images, %.0f images/s\n", s.Seconds, s.Images, s.ImagesPerSecond)
	return bw.err
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
