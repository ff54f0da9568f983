// Command lrrn-verify certifies the robustness of an LRRN's predictions:
// for every input it reports the prediction, the margin and a certified ℓ2
// radius within which the exact model (the minimiser of the energy, not
// just the finite-pass iterate) cannot change its prediction, plus a
// summary in the layout of Tables 1–2 of the paper (Høier and Zach,
// "Lifted Regression/Reconstruction Networks", BMVC 2020). "lrrn-verify
// serve" runs the same certification as an HTTP service. Run it with -h.
// docs/report-format.md describes the --json report.
package main

import (
	"context"
	"encoding/json"
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
	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/internal/jsonnum"
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

// interruptGrace is how long run waits, once interrupted, for the work to
// stop by itself (reading and certifying check the context) before it
// gives up on it (a read blocked where no context reaches).
const interruptGrace = 500 * time.Millisecond

// interruptible runs f, returning its error, or ctx's error when ctx is
// done and f has not returned within interruptGrace.
func interruptible(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(interruptGrace):
		return ctx.Err()
	}
}

const usage = `lrrn-verify certifies an LRRN's predictions on a set of images.

Usage:
  lrrn-verify [flags] MODEL IMAGES
  lrrn-verify [flags] --data NAME [--split test|train] MODEL
  lrrn-verify serve --model MODEL [--addr 127.0.0.1:8080] [flags]
  lrrn-verify attack [flags] MODEL IMAGES   (how tight the certificates are; see attack -h)

MODEL is a model file (lrrn-train writes them); IMAGES an IDX image file,
raw or gzip (MNIST format: pixels scaled to [0,1]). --data certifies a
whole data set with its labels: mnist, fashion-mnist or kmnist, as
lrrn-train --data finds or downloads them (--data-dir, $LRRN_CACHE). For each image it
prints the prediction, the margin m (to the label with --labels, else to
the predicted class), the certified radius δ = m'/(√2ρ) and the pairwise
radius δ_pair, where m' is the margin minus a certified bound on the
inference error (finite BCD passes), and ρ a certified upper bound of the
network's Lipschitz constant. "certified" means the exact model predicts
the class at the image and everywhere within the radius (ℓ2, pixel units).
The summary follows the paper's Tables 1–2 (ρ, mean/median/std of m,
median δ = median(m)/(√2ρ), accuracy) and adds the certified accuracy at
each --eps (correct and certified at a radius > ε). --json writes the
report of docs/report-format.md.

A radius is unbounded when ρ = 0 (all weights of a layer zero: the
prediction is the same everywhere); it prints as ∞, and in JSON it is null
with "radius_unbounded": true (likewise pair_radius and the summary's
medians).

IMAGES (and with --data the data set's files) is read as a stream, a few thousand images at a time: memory is
bounded by that chunk (plus 24 bytes an image for the summary's medians),
not by the file. Sizes are checked from the headers before any data are
read, and --limit N reads N images. The output starts once the first
chunk is checked; an invalid image further on is reported when reached
(exit 1, the output before it stands). Ctrl-C or SIGTERM ends the command
within a second (exit 130).

serve: POST /v1/certify {"pixels":[…]} or {"batch":[[…],…]} (optional
"label"/"labels"; Content-Type: application/json), GET /v1/model, GET
/healthz, GET /metrics (Prometheus text format). For example:
  curl -H 'Content-Type: application/json' -d '{"pixels":[0,0.5,…784 values…]}' http://127.0.0.1:8080/v1/certify
 Bodies are checked while they stream (--max-body,
--max-batch, each input's length); at most --max-inflight requests are
read and certified at once and --max-queue wait, the rest get 503 with
Retry-After. Memory beyond the model is then bounded by about
max-inflight × 8·max-batch·d_0 bytes (26 MB for MNIST with the defaults
on 2 cores, plus the certificates' 2 KB each). One access-log line per request on stderr (--quiet: none).
SIGTERM or Ctrl-C makes /healthz answer 503, stops accepting connections,
answers the requests in flight (up to --shutdown-timeout, then closes
what is left) and exits 0.

Limits: models have at most 64 weight layers, 65536 inputs, 4096 units
in each other layer and 2^28 weights (docs/model-format.md);
certification needs at most 4096 units per variable layer (the same
limit). --workers is at most 1024.

Examples:
  lrrn-verify --data mnist testdata/mnist-784-64-64-10.bin
  lrrn-verify --labels t10k-labels-idx1-ubyte.gz mnist.lrrn t10k-images-idx3-ubyte.gz
  lrrn-verify --json --quiet --adaptive mnist.lrrn images.gz > report.json
  lrrn-verify serve --model mnist.lrrn --addr 127.0.0.1:8080

` + cli.ExitHelp + `
Flags:
`

type options struct {
	labels          string
	data, dataDir   string
	split           string
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
	maxInFlight     int
	maxQueue        int
	shutdownTimeout time.Duration
	readTimeout     time.Duration
	writeTimeout    time.Duration
	idleTimeout     time.Duration
}

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
	fs.IntVar(&o.passes, "passes", 0, fmt.Sprintf("BCD passes per input: 0 runs them as needed (%d, then more only for inputs whose certificate is limited by the inference error), N exactly N", verify.StartPasses))
	fs.IntVar(&o.workers, "workers", 0, fmt.Sprintf("goroutines, at most %d (0: all cores)", verify.MaxWorkers))
	fs.BoolVar(&o.adaptive, "adaptive", false, "run more passes on inputs whose certificate is limited by the inference error")
	fs.IntVar(&o.maxPasses, "max-passes", 2000, "with --adaptive: at most this many passes per input")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and the SIMD tier, and exit")
	if serve {
		fs.StringVar(&o.model, "model", "", "model file (required)")
		fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
		fs.Int64Var(&o.maxBody, "max-body", 16<<20, "largest request body in bytes")
		fs.IntVar(&o.maxBatch, "max-batch", 1024, "most inputs in one request")
		fs.IntVar(&o.maxInFlight, "max-inflight", 0, "most certify requests read and certified at once (0: 2×cores, at least 4); memory beyond the model is about max-inflight × 8·max-batch·inputs bytes")
		fs.IntVar(&o.maxQueue, "max-queue", 0, "most certify requests waiting for a slot (0: 16×max-inflight); beyond it, 503 with Retry-After")
		fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM/SIGINT, how long requests in flight may take to finish before their connections are closed")
		fs.DurationVar(&o.readTimeout, "read-timeout", time.Minute, "longest time to read a request, body included")
		fs.DurationVar(&o.writeTimeout, "write-timeout", 2*time.Minute, "longest time from the end of a request's headers to the end of its answer (a client that does not read is cut off)")
		fs.DurationVar(&o.idleTimeout, "idle-timeout", 2*time.Minute, "longest time a keep-alive connection may wait for its next request")
		fs.BoolVar(&o.quiet, "quiet", false, "no access log (one line per request on stderr)")
	} else {
		fs.StringVar(&o.labels, "labels", "", "IDX label file (raw or gzip): margins and accuracy w.r.t. the labels")
		fs.StringVar(&o.data, "data", "", "certify a data set with its labels instead of IMAGES: mnist, fashion-mnist or kmnist")
		fs.StringVar(&o.split, "split", "test", "with --data: test or train")
		fs.StringVar(&o.dataDir, "data-dir", "", "with --data: directory holding the data set's four files (default: as lrrn-train finds them)")
		fs.BoolVar(&o.json, "json", false, "write JSON (model, one record per input, summary) instead of text")
		fs.StringVar(&eps, "eps", eps, "radii for the certified accuracy, comma-separated")
		fs.IntVar(&o.limit, "limit", 0, "certify only the first N images (0: all)")
		fs.BoolVar(&o.quiet, "quiet", false, "no per-input lines (text) or records (JSON); summary only")
	}
	pos, err := cli.ParseInterspersed(fs, args, stderr)
	if err != nil {
		return nil, err
	}
	if o.showVersion {
		return o, nil
	}
	if o.passes < 0 || o.passes > 1<<20 {
		return nil, cli.Usagef("--passes %d: want 0 (as needed) … %d", o.passes, 1<<20)
	}
	if o.workers < 0 || o.workers > verify.MaxWorkers {
		return nil, cli.Usagef("--workers %d: want 0 (all cores) … %d", o.workers, verify.MaxWorkers)
	}
	if o.maxPasses < 1 {
		return nil, cli.Usagef("--max-passes %d: want at least 1", o.maxPasses)
	}
	if serve {
		if len(pos) != 0 {
			return nil, cli.Usagef("serve takes no arguments (got %q); give the model with --model", pos)
		}
		if o.model == "" {
			return nil, cli.Usagef("serve needs --model MODEL")
		}
		if o.maxBody <= 0 || o.maxBatch <= 0 {
			return nil, cli.Usagef("--max-body and --max-batch must be positive")
		}
		if o.maxInFlight < 0 || o.maxQueue < 0 {
			return nil, cli.Usagef("--max-inflight and --max-queue must be 0 (default) or positive")
		}
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"shutdown-timeout", o.shutdownTimeout}, {"read-timeout", o.readTimeout}, {"write-timeout", o.writeTimeout}, {"idle-timeout", o.idleTimeout}} {
			if d.v <= 0 {
				return nil, cli.Usagef("--%s %v: want a positive duration, e.g. 30s", d.name, d.v)
			}
		}
		return o, nil
	}
	if o.limit < 0 {
		return nil, cli.Usagef("--limit %d: want 0 (all) or more", o.limit)
	}
	if o.eps, err = parseEps(eps); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	if o.data != "" {
		if o.data, err = dataset.Canonical(o.data); err != nil {
			return nil, cli.Usagef("--data: %v", err)
		}
		if o.split != "test" && o.split != "train" {
			return nil, cli.Usagef("--split %q: want test or train", o.split)
		}
		if o.labels != "" {
			return nil, cli.Usagef("--labels cannot be combined with --data (the data set brings its labels)")
		}
		if len(pos) != 1 {
			return nil, cli.Usagef("with --data, want one argument, MODEL (got %d)", len(pos))
		}
		o.model = pos[0]
		return o, nil
	}
	if o.dataDir != "" || o.split != "test" {
		return nil, cli.Usagef("--data-dir and --split apply with --data only")
	}
	if len(pos) != 2 {
		return nil, cli.Usagef("want two arguments, MODEL and IMAGES (got %d)", len(pos))
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
	if len(args) > 0 && args[0] == "attack" {
		return runAttack(ctx, args[1:], stdout, stderr)
	}
	serve := len(args) > 0 && args[0] == "serve"
	name := "lrrn-verify"
	if serve {
		args = args[1:]
		name = "lrrn-verify serve"
	}
	o, err := parse(name, args, stderr, serve)
	if err != nil {
		return cli.Status("lrrn-verify", err, stderr)
	}
	if o.showVersion {
		fmt.Fprintln(stdout, versionString())
		return cli.ExitOK
	}
	if serve {
		err = runServe(ctx, o, stderr)
	} else {
		err = interruptible(ctx, func() error { return certify(ctx, o, stdout, stderr) })
		if err != nil && ctx.Err() != nil {
			fmt.Fprintln(stderr, "lrrn-verify: interrupted")
			return cli.ExitInterrupted
		}
	}
	return cli.Status("lrrn-verify", err, stderr)
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

// schemaVersion is the version of the --json report (docs/report-format.md).
// Version 1 was the unversioned report before the renaming of summary
// fields that misled (passes' Min/Median/Max, certified_accuracy's radius
// and best_radius, test_accuracy, median_delta_seed_style).
const schemaVersion = 2

// summary holds the table's statistics.
type summary struct {
	Images            int       `json:"images"`
	Labelled          bool      `json:"labelled"`
	Rho               *float64  `json:"rho"`
	MeanMargin        *float64  `json:"mean_margin"`
	MedianMargin      *float64  `json:"median_margin"`
	StdMargin         *float64  `json:"std_margin"`
	MedianDelta       *float64  `json:"paper_median_delta"`
	MedianDeltaInf    bool      `json:"paper_median_delta_unbounded,omitempty"`
	Accuracy          *float64  `json:"accuracy"`
	Certified         int       `json:"certified"`
	MedianRadius      *float64  `json:"median_certified_radius"`
	MedianPairRadius  *float64  `json:"median_certified_pair_radius"`
	MedianRadiusInf   bool      `json:"median_certified_radius_unbounded,omitempty"`
	MedianPairInf     bool      `json:"median_certified_pair_radius_unbounded,omitempty"`
	CertifiedAccuracy []epsRow  `json:"certified_accuracy"`
	Seconds           float64   `json:"seconds"`
	ImagesPerSecond   float64   `json:"images_per_second"`
	Passes            passStats `json:"passes"`
}

type epsRow struct {
	Eps          float64 `json:"eps"`
	Accuracy     float64 `json:"accuracy"`      // fraction correct and certified with δ > ε
	AccuracyPair float64 `json:"accuracy_pair"` // … with max(δ, δ_pair) > ε
}

type passStats struct {
	Min    int `json:"min"`
	Median int `json:"median"`
	Max    int `json:"max"`
}

// column holds one float64 per image in blocks of fixed size: it grows
// without copying (a doubling slice would hold its old and new arrays at
// once), and it sorts in place for the median.
type column struct {
	blocks [][]float64
	n      int
}

const columnBlock = 1 << 16

func (c *column) add(v float64) {
	if c.n%columnBlock == 0 {
		c.blocks = append(c.blocks, make([]float64, columnBlock))
	}
	c.blocks[c.n/columnBlock][c.n%columnBlock] = v
	c.n++
}

func (c *column) at(i int) *float64 { return &c.blocks[i/columnBlock][i%columnBlock] }

// each calls f on the values in the order they were added.
func (c *column) each(f func(float64)) {
	for i := 0; i < c.n; i++ {
		f(*c.at(i))
	}
}

func (c *column) Len() int { return c.n }
func (c *column) Less(i, j int) bool { // as sort.Float64s: NaN first
	a, b := *c.at(i), *c.at(j)
	return a < b || (math.IsNaN(a) && !math.IsNaN(b))
}
func (c *column) Swap(i, j int) { a, b := c.at(i), c.at(j); *a, *b = *b, *a }

// median sorts c (in place) and returns its median.
func (c *column) median() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	sort.Sort(c)
	if c.n%2 == 1 {
		return *c.at(c.n / 2)
	}
	return (*c.at(c.n/2 - 1) + *c.at(c.n / 2)) / 2
}

// tally accumulates the summary's statistics as certificates stream by:
// counts, and the three values per image whose exact medians the summary
// reports (24 bytes an image, in blocks; everything else is bounded).
type tally struct {
	eps                  []float64
	labelled             bool
	n, certified         int
	correct              int
	margins, radii, pair column
	passes               map[int]int // passes → images
	atEps, bestAtEps     []int       // correct and certified with δ > ε, with max(δ, δ_pair) > ε
}

func newTally(eps []float64, labelled bool) *tally {
	return &tally{eps: eps, labelled: labelled, passes: map[int]int{}, atEps: make([]int, len(eps)), bestAtEps: make([]int, len(eps))}
}

// add counts one certificate; label is −1 without labels.
func (t *tally) add(ct verify.Certificate, label int) {
	t.n++
	t.margins.add(ct.Margin)
	t.radii.add(ct.Radius)
	if !math.IsNaN(ct.PairRadius) {
		t.pair.add(ct.PairRadius)
	}
	t.passes[ct.Passes]++
	if ct.Certified {
		t.certified++
	}
	if !t.labelled || ct.Pred != label {
		return
	}
	t.correct++
	if !ct.Certified {
		return
	}
	for i, e := range t.eps {
		if ct.Radius > e {
			t.atEps[i]++
		}
		if ct.Radius > e || ct.PairRadius > e {
			t.bestAtEps[i]++
		}
	}
}

// passStats returns the minimum, median (of the values as float64,
// truncated) and maximum of the pass counts.
func (t *tally) passStats() passStats {
	keys := make([]int, 0, len(t.passes))
	for p := range t.passes {
		keys = append(keys, p)
	}
	sort.Ints(keys)
	at := func(i int) float64 { // the i-th smallest
		for _, p := range keys {
			if i < t.passes[p] {
				return float64(p)
			}
			i -= t.passes[p]
		}
		return math.NaN()
	}
	med := at(t.n / 2)
	if t.n%2 == 0 {
		med = (at(t.n/2-1) + med) / 2
	}
	return passStats{keys[0], int(med), keys[len(keys)-1]}
}

func (t *tally) summary(c *verify.Certifier, elapsed time.Duration) summary {
	b := c.Bounds()
	n := t.n
	s := summary{Images: n, Labelled: t.labelled, Rho: jsonnum.Finite(b.Rho), Seconds: elapsed.Seconds(), Certified: t.certified, CertifiedAccuracy: []epsRow{}}
	if elapsed > 0 {
		s.ImagesPerSecond = float64(n) / elapsed.Seconds()
	}
	if n > 0 {
		var sum float64
		t.margins.each(func(m float64) { sum += m })
		mean := sum / float64(n)
		var ss float64
		t.margins.each(func(m float64) { ss += (m - mean) * (m - mean) })
		std := 0.0
		if n > 1 {
			std = math.Sqrt(ss / float64(n-1))
		}
		med := t.margins.median()
		s.MeanMargin, s.MedianMargin, s.StdMargin = jsonnum.Finite(mean), jsonnum.Finite(med), jsonnum.Finite(std)
		s.MedianDelta, s.MedianDeltaInf = numInf(med / (math.Sqrt2 * b.Rho))
		s.MedianRadius, s.MedianRadiusInf = numInf(t.radii.median())
		if t.pair.Len() > 0 {
			s.MedianPairRadius, s.MedianPairInf = numInf(t.pair.median())
		}
		s.Passes = t.passStats()
	}
	if t.labelled && n > 0 {
		s.Accuracy = jsonnum.Finite(float64(t.correct) / float64(n))
		for i, e := range t.eps {
			s.CertifiedAccuracy = append(s.CertifiedAccuracy, epsRow{Eps: e, Accuracy: float64(t.atEps[i]) / float64(n), AccuracyPair: float64(t.bestAtEps[i]) / float64(n)})
		}
	}
	return s
}

// chunkImages is how many images certify reads and certifies at a time:
// four tiles per worker, within 32 MiB of pixels, a whole number of tiles
// (so that every tile is the one a single CertifyBatch over the whole file
// would form).
func chunkImages(workers, d0 int) int {
	T := lrrn.TileSize
	n := min(4*workers*T, (32<<20)/(4*d0))
	return max(T, n/T*T)
}

// certify streams the images (and labels) through the certifier a chunk
// at a time: memory is bounded by the chunk, not by the file (plus the 24
// bytes an image the summary's medians keep). Sizes are checked against
// the model and against each other from the headers, before any data are
// read; --limit N reads N images. The output starts once the first chunk
// has been read and checked, so an error there leaves stdout empty; an
// invalid image further on is reported when it is reached (exit 1).
func certify(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	c, err := loadCertifier(o)
	if err != nil {
		return err
	}
	if o.data != "" {
		if err := locateData(o, stderr); err != nil {
			return err
		}
	}
	m := c.Model()
	ims, err := idx.OpenImages(ctx, o.images)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	defer ims.Close()
	d0 := m.Sizes[0]
	if d := ims.Dim(); d != d0 {
		return fmt.Errorf("images: %s holds %d×%d images (%d pixels), but the model %s takes %d inputs", o.images, ims.Rows, ims.Cols, d, o.model, d0)
	}
	var lr *idx.LabelReader
	if o.labels != "" {
		if lr, err = idx.OpenLabels(ctx, o.labels); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		defer lr.Close()
		if lr.N != ims.N {
			return fmt.Errorf("labels: %s has %d labels, but %s has %d images", o.labels, lr.N, o.images, ims.N)
		}
	}
	n := ims.N
	if o.limit > 0 {
		n = min(n, o.limit)
	}
	classes := m.Sizes[m.L()]
	chunk := min(chunkImages(c.Options().Workers, d0), n)
	x := make([]float32, chunk*d0)
	certs := make([]verify.Certificate, chunk)
	var lb8 []uint8
	var labels []int
	if lr != nil {
		lb8, labels = make([]uint8, chunk), make([]int, chunk)
	}
	t := newTally(o.eps, lr != nil)
	var out *output
	var elapsed time.Duration
	for done := 0; done < n; {
		k := min(chunk, n-done)
		if _, err := ims.Read(x[:k*d0]); err != nil {
			return fmt.Errorf("images: %w", err)
		}
		for i, v := range x[:k*d0] {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("images: %s: image %d pixel %d is %v, want a value in [0,1]", o.images, done+i/d0, i%d0, v)
			}
		}
		var lab []int
		if lr != nil {
			if _, err := lr.Read(lb8[:k]); err != nil {
				return fmt.Errorf("labels: %w", err)
			}
			for i, l := range lb8[:k] {
				if int(l) >= classes {
					return fmt.Errorf("labels: %s: label %d is %d, but the model has %d classes (0 … %d)", o.labels, done+i, l, classes, classes-1)
				}
				labels[i] = int(l)
			}
			lab = labels[:k]
		}
		start := time.Now()
		if err := c.CertifyBatch(ctx, x[:k*d0], lab, certs[:k]); err != nil {
			return err
		}
		elapsed += time.Since(start)
		if out == nil {
			if out, err = newOutput(stdout, o, c, lr != nil); err != nil {
				return err
			}
		}
		for i, ct := range certs[:k] {
			l := -1
			if lab != nil {
				l = lab[i]
			}
			t.add(ct, l)
			out.record(done+i, ct, l)
		}
		if err := out.err(); err != nil {
			return err
		}
		done += k
	}
	if o.limit == 0 || o.limit >= ims.N {
		// The whole file was asked for: check that it ends where its header
		// says (and, for gzip, its checksum).
		if _, err := ims.Read(x[:d0]); err != io.EOF {
			return fmt.Errorf("images: %w", err)
		}
		if lr != nil {
			if _, err := lr.Read(lb8[:1]); err != io.EOF {
				return fmt.Errorf("labels: %w", err)
			}
		}
	}
	if out == nil {
		if out, err = newOutput(stdout, o, c, lr != nil); err != nil {
			return err
		}
	}
	return out.finish(t.summary(c, elapsed))
}

// locateData points o.images and o.labels at the files of the --data
// set's split, found or downloaded as lrrn-train finds them; certify then
// streams them as it does files named on the command line, so the report
// is the same.
func locateData(o *options, stderr io.Writer) error {
	split := dataset.Test
	if o.split == "train" {
		split = dataset.Train
	}
	if cli.IsTerminal(stderr) {
		dataset.Default.Progress = stderr
	}
	dir, err := dataset.Locate(o.data, o.dataDir)
	if err != nil {
		return err
	}
	o.images, o.labels = dataset.SplitFiles(dir, split)
	return nil
}

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
	writeTextSummary(out.w, out.c, out.labelled, s)
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
	if c.Options().Adaptive {
		passes += fmt.Sprintf(", adaptive up to %d", c.Options().MaxPasses)
	}
	bw.printf("model %s: %s, %s, β = %v, γ = %g; %s; SIMD %s, %d workers\n",
		o.model, strings.Join(arch, "-"), strings.Join(in.Activations, "/"), m.Beta, m.Gamma, passes, asm.CurrentTier(), c.Options().Workers)
	bw.printf("ρ ≤ %.4f (certified: ℓ = %s)", b.Rho, strings.Join(ells, " · "))
	if b.Reduced {
		bw.printf("; pairwise Π_{k<L−1} ℓ_k ≤ %.4f", b.RhoPre)
	}
	bw.printf("\nestimate %.4f = %s (as the paper computes ρ, at Lanczos estimates of σ_max; NOT sound)\n", b.RhoEstimate, strings.Join(ests, " · "))
	bw.printf("μ ≥ %.4g (certified strong convexity of the block-scaled energy)\n\n", b.MuBest)
}

func writeTextSummary(bw *errWriter, c *verify.Certifier, labelled bool, s summary) {
	bw.printf("%-10s %8s %9s %9s %8s %9s %14s\n", "", "ρ", "mean(m)", "median(m)", "std(m)", "median δ", "accuracy")
	acc := "—"
	if s.Accuracy != nil {
		acc = fmt.Sprintf("%.2f%%", 100**s.Accuracy)
	}
	bw.printf("%-10s %8s %9s %9s %8s %9s %14s\n", "summary", f4(s.Rho), f4(s.MeanMargin), f4(s.MedianMargin), f4(s.StdMargin), f4inf(s.MedianDelta, s.MedianDeltaInf), acc)
	bw.printf("(margins of the %d-pass iterate%s; median δ = median(m)/(√2ρ) as in the paper, not a certificate)\n\n", c.Options().Passes, map[bool]string{true: " w.r.t. the labels", false: " w.r.t. the predictions"}[labelled])
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
