package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

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
	sweeps          int
	noRefine        bool
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
	fs := cli.NewFlagSet(name, usage, stderr)
	eps := "0.1,0.25,0.5,1.0,1.58"
	fs.IntVar(&o.passes, "passes", 0, fmt.Sprintf("BCD passes per input: 0 runs them as needed (%d, then more only for inputs whose certificate is limited by the inference error), N exactly N", verify.StartPasses))
	fs.IntVar(&o.workers, "workers", 0, fmt.Sprintf("goroutines, at most %d (0: all cores)", verify.MaxWorkers))
	fs.BoolVar(&o.adaptive, "adaptive", false, "run more passes on inputs whose certificate is limited by the inference error")
	fs.IntVar(&o.maxPasses, "max-passes", 2000, "with --adaptive: at most this many passes per input")
	fs.BoolVar(&o.noRefine, "no-refine", false, "compute each certificate's residual from the float32 products only, not in float64 (faster on very wide models, looser certificates: their rounding bound is often most of the inference error; docs/math.md)")
	fs.IntVar(&o.sweeps, "sweeps", 0, fmt.Sprintf("Gauss–Seidel sweeps over each layer's units per pass, 1 … %d; 0 chooses for the model (with passes as needed: the count of 1 … 4 its pass rates predict is cheapest, 4 for testdata's certified-robust model; with fixed passes: 1). The certificates are as sound either way", lrrn.MaxSweeps))
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
	if o.sweeps < 0 || o.sweeps > lrrn.MaxSweeps {
		return nil, cli.Usagef("--sweeps %d: want 0 (chosen for the model) … %d", o.sweeps, lrrn.MaxSweeps)
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
