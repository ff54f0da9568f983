// Command lrrn-train trains an LRRN on MNIST, Fashion-MNIST or
// Kuzushiji-MNIST: supervised (contrastive, the default) or unsupervised
// (free energy), from a random initialisation or a model file, with a
// checkpoint after every epoch. Run it with -h for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { // a second signal ends the process at once (checkpoints are atomic)
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `lrrn-train trains a Lifted Regression/Reconstruction Network.

Usage:
  lrrn-train [flags] --out MODEL

Supervised (default): contrastive training with the output clamped to the
one-hot label. --unsupervised: minimise the free energy (for filters or
pretraining; pass the pretrained model to a supervised run with --init).
A checkpoint (MODEL, with the exact training state in its note) is written
atomically after every epoch and when the run is interrupted (Ctrl-C,
SIGTERM); --resume continues from it exactly.

Examples:
  lrrn-train --data mnist --epochs 100 --out mnist.lrrn --log mnist.csv --plot mnist.png
  lrrn-train --unsupervised --arch 784-32-32 --beta 1,1 --lr 0.005 --out filters.lrrn --filters filters.png
  lrrn-train --unsupervised --arch 784-64-64-10 --beta 1,1,0 --lr 0.005 --epochs 20 --out pretrained.lrrn
  lrrn-train --init pretrained.lrrn --out finetuned.lrrn
  lrrn-train --resume --out mnist.lrrn --epochs 100

Data: --data names the set; the files come from --data-dir, else the data
cache (lrrn/ in the user cache directory, or $LRRN_CACHE), else MNIST from
the Go module cache or proxy ($GOPROXY), Fashion-MNIST from
/usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist),
else a download from the official sites (checked against pinned SHA-256s;
LRRN_OFFLINE=1 forbids downloads).

The directories of --out, --log, --plot and --filters are created.

` + cli.ExitHelp + `
Flags:
`

type options struct {
	data, dataDir, arch, act, outAct, beta, init, out, log, plotPath, filters, convention string
	objective, schedule                                                                   string
	gamma, lr, wd                                                                         float64
	passes, epochs, batch, workers, evalPasses, holdout                                   int
	seed                                                                                  uint64
	unsupervised, resume, force                                                           bool
	set                                                                                   map[string]bool

	// checked in parseFlags
	cfg       lrrn.Config // the random model's configuration (neither --init nor --resume)
	conv      train.Convention
	obj       train.Objective
	sch       train.Schedule
	canonData string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("lrrn-train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.data, "data", "mnist", "data set: mnist, fashion (Fashion-MNIST) or kmnist (Kuzushiji-MNIST)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (default: the data cache, then the places and downloads listed above)")
	fs.StringVar(&o.arch, "arch", "", "layer sizes, input first (default 784-64-64-10; unsupervised 784-32-32)")
	fs.StringVar(&o.act, "act", "relu", "activation of the hidden layers: linear, relu or hardsigmoid (the output is linear when supervised)")
	fs.StringVar(&o.outAct, "out-act", "", "activation of the last layer (default: linear when supervised or when its β is 0, else --act)")
	fs.StringVar(&o.beta, "beta", "", "reconstruction prefactors β, one per weight layer (default 1,…,1,0; unsupervised 1,…,1)")
	fs.Float64Var(&o.gamma, "gamma", 0.125, "feedback parameter γ in (0,1]")
	fs.IntVar(&o.passes, "passes", 20, "BCD passes per phase")
	fs.IntVar(&o.epochs, "epochs", 100, "train until this many epochs are complete")
	fs.IntVar(&o.batch, "batch", 10, "mini-batch size")
	fs.Float64Var(&o.lr, "lr", 0.4, "learning rate η; 0.005 with --unsupervised (the paper: 0.4 MNIST/KMNIST, 0.1 Fashion-MNIST, 0.005 unsupervised)")
	fs.Float64Var(&o.wd, "weight-decay", 1e-5, "weight decay λ on the weights (not the biases)")
	fs.StringVar(&o.convention, "convention", train.DefaultConvention.String(), "gradient convention (docs/training.md): mean|sum[,gamma][,decay=S]")
	fs.BoolVar(&o.unsupervised, "unsupervised", false, "train the free energy instead of the contrastive loss")
	fs.StringVar(&o.init, "init", "", "start from this model file instead of a random initialisation")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation and the shuffling")
	fs.StringVar(&o.out, "out", "", "model file written after every epoch (required)")
	fs.StringVar(&o.log, "log", "", "CSV file of per-epoch metrics (appended to on --resume)")
	fs.StringVar(&o.plotPath, "plot", "", "chart of the loss and test-accuracy curves, redrawn after every epoch: PNG or SVG by the file's extension")
	fs.StringVar(&o.filters, "filters", "", "PNG grid of the first-layer filters, redrawn after every epoch")
	fs.BoolVar(&o.resume, "resume", false, "continue the checkpoint in --out exactly (its hyperparameters are used)")
	fs.BoolVar(&o.force, "force", false, "let --out replace an existing file that is not a model")
	fs.IntVar(&o.workers, "workers", 0, "goroutines (0: min(2, cores)); results are reproducible for a given seed and worker count")
	fs.IntVar(&o.evalPasses, "eval-passes", 0, "BCD passes of the per-epoch evaluation (0: --passes)")
	fs.StringVar(&o.objective, "objective", "onehot", "supervised output objective (docs/training.md): onehot[,scale=C] clamps the output to C·onehot; margin,eps=E[,nudge=A][,warmup=N] and ce,eps=E[,temp=T][,nudge=A][,warmup=N] nudge it toward the margins a certificate at radius E needs (hinge or cross-entropy)")
	fs.StringVar(&o.schedule, "schedule", "constant", "learning-rate schedule: constant, or cosine (decays to 0 at --epochs)")
	fs.IntVar(&o.holdout, "holdout", 0, "hold out the last N training images: train on the rest and evaluate on them after every epoch instead of the test set (for choosing hyperparameters)")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected argument %q (all options are flags; see -h)", fs.Arg(0))
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.out == "" {
		return nil, cli.Usagef("--out MODEL is required (the model file written after every epoch)")
	}
	if o.unsupervised {
		if !o.set["arch"] && o.init == "" {
			o.arch = "784-32-32"
		}
		if !o.set["lr"] {
			o.lr = 0.005
		}
	} else if o.arch == "" {
		o.arch = "784-64-64-10"
	}
	if err := checkFlags(o); err != nil {
		return nil, &cli.UsageError{Msg: err.Error()}
	}
	return o, nil
}

// checkFlags checks the flags on their own and together, before any file
// is read: an error here is a usage error.
func checkFlags(o *options) error {
	var err error
	if o.canonData, err = dataset.Canonical(o.data); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	for _, c := range []struct {
		name string
		v    int
		min  int
	}{{"epochs", o.epochs, 1}, {"batch", o.batch, 1}, {"passes", o.passes, 1}, {"workers", o.workers, 0}, {"eval-passes", o.evalPasses, 0}, {"holdout", o.holdout, 0}} {
		if c.v < c.min {
			return fmt.Errorf("--%s %d: want at least %d", c.name, c.v, c.min)
		}
	}
	if ext := strings.ToLower(filepath.Ext(o.plotPath)); o.plotPath != "" && ext != ".png" && ext != ".svg" {
		return fmt.Errorf("--plot %s: want a .png or .svg file", o.plotPath)
	}
	if ext := strings.ToLower(filepath.Ext(o.filters)); o.filters != "" && ext != ".png" {
		return fmt.Errorf("--filters %s: want a .png file", o.filters)
	}
	if !(o.lr > 0) || math.IsInf(o.lr, 0) {
		return fmt.Errorf("--lr %v: want a finite value > 0", o.lr)
	}
	if !(o.wd >= 0) || math.IsInf(o.wd, 0) {
		return fmt.Errorf("--weight-decay %v: want a finite value ≥ 0", o.wd)
	}
	if o.resume {
		for _, f := range []string{"arch", "act", "out-act", "beta", "gamma", "init"} {
			if o.set[f] {
				return fmt.Errorf("--resume cannot be combined with --%s (the checkpoint fixes the model)", f)
			}
		}
		return nil
	}
	if o.conv, err = train.ParseConvention(o.convention); err != nil {
		return fmt.Errorf("--convention: %w", err)
	}
	if o.obj, err = train.ParseObjective(o.objective); err != nil {
		return fmt.Errorf("--objective: %w", err)
	}
	if o.sch, err = train.ParseSchedule(o.schedule); err != nil {
		return fmt.Errorf("--schedule: %w", err)
	}
	if o.unsupervised && o.set["objective"] {
		return errors.New("--objective applies to supervised training only")
	}
	if o.init != "" {
		for _, f := range []string{"arch", "act", "out-act", "beta", "gamma"} {
			if o.set[f] {
				return fmt.Errorf("--%s cannot be combined with --init (the model file fixes the architecture)", f)
			}
		}
		return nil
	}
	o.cfg, err = modelConfig(o)
	return err
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err == nil {
		err = train1(ctx, o, stdout, stderr)
	}
	return cli.Status("lrrn-train", err, stderr)
}

func parseSizes(s string) ([]int, error) {
	parts := strings.Split(s, "-")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("--arch %q: %q is not a positive layer size (want e.g. 784-64-64-10)", s, p)
		}
		out[i] = v
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--arch %q: need at least an input and one layer, e.g. 784-64-64-10", s)
	}
	if err := lrrn.CheckSizes(out); err != nil {
		return nil, fmt.Errorf("--arch %q: %w", s, err)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out[i] = v
	}
	return out, nil
}

// modelConfig returns the configuration of the random model the flags
// describe, checked.
func modelConfig(o *options) (lrrn.Config, error) {
	var none lrrn.Config
	sizes, err := parseSizes(o.arch)
	if err != nil {
		return none, err
	}
	L := len(sizes) - 1
	act, err := lrrn.ParseActivation(o.act)
	if err != nil {
		return none, fmt.Errorf("--act: %w", err)
	}
	acts := make([]lrrn.Activation, L)
	for k := range acts {
		acts[k] = act
	}
	var beta []float64
	if o.beta == "" {
		beta = make([]float64, L)
		for k := range beta {
			beta[k] = 1
		}
		if !o.unsupervised {
			beta[L-1] = 0
		}
	} else if beta, err = parseFloats(o.beta); err != nil {
		return none, fmt.Errorf("--beta %q: %v", o.beta, err)
	}
	if len(beta) != L {
		return none, fmt.Errorf("--beta %q has %d values; --arch %s has %d weight layers, so give %d", o.beta, len(beta), o.arch, L, L)
	}
	switch {
	case o.outAct != "":
		if acts[L-1], err = lrrn.ParseActivation(o.outAct); err != nil {
			return none, fmt.Errorf("--out-act: %w", err)
		}
	case !o.unsupervised || beta[L-1] == 0:
		acts[L-1] = lrrn.Linear
	}
	if !(o.gamma > 0 && o.gamma <= 1) {
		return none, fmt.Errorf("--gamma %v: want 0 < γ ≤ 1", o.gamma)
	}
	for k, b := range beta {
		if !(b >= 0) || math.IsInf(b, 0) {
			return none, fmt.Errorf("--beta %q: β_%d = %v, want a finite value ≥ 0", o.beta, k, b)
		}
	}
	c := lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: o.gamma, Passes: o.passes}
	if err := c.Validate(); err != nil {
		return none, fmt.Errorf("--arch %s: %w", o.arch, err)
	}
	return c, nil
}

func train1(ctx context.Context, o *options, stdout, stderr io.Writer) (err error) {
	var (
		m     *lrrn.Model
		st    *train.State
		topts train.Options
	)
	// Temporary files of checkpoints a killed run was writing (this run
	// owns --out).
	removed, err := lrrn.RemoveStaleTemps(o.out)
	for _, name := range removed {
		fmt.Fprintf(stderr, "lrrn-train: removed %s, the temporary file of an interrupted checkpoint\n", name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--out: removing stale temporary files: %w", err)
	}
	if o.resume {
		m, st, err = train.LoadCheckpoint(o.out)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--resume: no checkpoint %s to continue (start the run without --resume)", o.out)
		}
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if topts, err = st.Options(); err != nil {
			return fmt.Errorf("--resume: %s: %w", o.out, err)
		}
		if err := checkResumeFlags(o, st, &topts); err != nil {
			return err
		}
		o.data = st.Dataset
		o.unsupervised = topts.Mode == train.Unsupervised
		o.holdout = st.Holdout
	} else {
		mode := train.Supervised
		if o.unsupervised {
			mode = train.Unsupervised
		}
		topts = train.Options{Mode: mode, LR: o.lr, Batch: o.batch, WeightDecay: o.wd, Passes: o.passes, Seed: o.seed, Workers: o.workers, Convention: o.conv,
			Objective: o.obj, Schedule: o.sch}
		if o.sch == train.Cosine {
			topts.Epochs = o.epochs
		}
		if o.init != "" {
			if m, err = lrrn.Load(o.init); err != nil {
				return fmt.Errorf("--init: %w", err)
			}
			m.Meta.Note = "" // a checkpoint note of the pretraining run does not apply
		} else if m, err = lrrn.NewRandom(o.cfg, o.seed); err != nil {
			return err
		}
	}
	// The output directories exist before the first epoch, not after it.
	for _, p := range []string{o.out, o.log, o.plotPath, o.filters} {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}
	if cli.IsTerminal(stderr) {
		dataset.Default.Progress = stderr
	}
	trainSet, testSet, canon, err := loadData(o.data, o.dataDir)
	if err != nil {
		return err
	}
	o.data = canon
	evalSet, evalName := testSet, "test"
	if o.holdout != 0 {
		if o.holdout < 0 || o.holdout >= trainSet.N {
			return fmt.Errorf("--holdout %d: want 0 … %d (the training set has %d images)", o.holdout, trainSet.N-1, trainSet.N)
		}
		trainSet, evalSet = splitOff(trainSet, o.holdout)
		evalName = fmt.Sprintf("held-out (last %d training images)", o.holdout)
	}
	if trainSet.D != m.Sizes[0] {
		return fmt.Errorf("the model's input layer has %d units but %s images have %d pixels (use --arch %d-…)", m.Sizes[0], o.data, trainSet.D, trainSet.D)
	}
	if topts.Mode == train.Supervised {
		if L := m.L(); m.Sizes[L] < 10 {
			return fmt.Errorf("supervised training on %s needs ≥ 10 output units, the model has %d (use e.g. --arch 784-64-64-10)", o.data, m.Sizes[L])
		}
	}
	tr, err := train.New(m, trainSet, topts)
	if err != nil {
		return err
	}
	defer tr.Close()
	var hist []train.EpochRecord
	if st != nil {
		if err := tr.Resume(st); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		hist = st.History
		e, b := tr.Position()
		fmt.Fprintf(stdout, "resuming %s at epoch %d, batch %d of %d\n", o.out, e+1, b+1, tr.Batches())
	} else if _, err := os.Stat(o.out); err == nil {
		_, _, cerr := train.LoadCheckpoint(o.out)
		if cerr == nil {
			return fmt.Errorf("%s is a checkpoint of another run: use --resume to continue it, or another --out", o.out)
		}
		if !errors.Is(cerr, train.ErrNoState) && !o.force {
			return fmt.Errorf("--out %s exists and is not a model or checkpoint lrrn-train may replace (%v); refusing to overwrite it (--force replaces it)", o.out, cerr)
		}
	}
	logw, err := openLog(o.log, o.resume)
	if err != nil {
		return err
	}
	var logErr error // the first error writing the log
	if logw != nil {
		defer func() {
			if cerr := logw.Close(); cerr != nil && logErr == nil && err == nil {
				err = fmt.Errorf("--log: %w", cerr)
			}
		}()
	}
	topts = tr.Options()
	fmt.Fprintf(stdout, "%s training of %s on %s: %d examples, batch %d, lr %g (%s), weight decay %g, %d passes, convention %s, objective %s, workers %d; evaluation on the %s set\n",
		topts.Mode, archString(m), o.data, trainSet.N, topts.Batch, topts.LR, topts.Schedule, topts.WeightDecay, topts.Passes, topts.Convention, topts.Objective, topts.Workers, evalName)
	prog := newProgress(stdout, tr.Batches(), topts.Batch, o.epochs)
	prog.evalName = "test"
	if o.holdout != 0 {
		prog.evalName = "held-out"
	}
	rc := train.RunConfig{Epochs: o.epochs, Checkpoint: o.out, Dataset: o.data, Test: evalSet, EvalPasses: o.evalPasses,
		History: hist, Progress: prog.update, Holdout: o.holdout}
	rc.OnEpoch = func(r train.EpochRecord) {
		prog.epochDone(r)
		if logw != nil && logErr == nil {
			if logErr = logw.write(r); logErr != nil {
				fmt.Fprintln(stderr, "lrrn-train: --log:", logErr, "(no more lines are written; the run goes on)")
			}
		}
		hist = append(hist, r)
		if o.plotPath != "" {
			if err := plot.Curves(o.plotPath, hist, topts.Mode == train.Unsupervised); err != nil {
				fmt.Fprintln(stderr, "lrrn-train: --plot:", err)
			}
		}
		if o.filters != "" {
			if err := plot.Filters(o.filters, m, 0); err != nil {
				fmt.Fprintln(stderr, "lrrn-train: --filters:", err)
			}
		}
	}
	_, err = train.Run(ctx, tr, rc)
	prog.finish()
	var div *train.DivergedError
	switch {
	case errors.As(err, &div):
		last := "no checkpoint was written by this run"
		if div.LastGood > 0 {
			last = fmt.Sprintf("the last good checkpoint %s (after epoch %d) is unchanged", o.out, div.LastGood)
		}
		return fmt.Errorf("%v; stopped, %s (try a smaller --lr)", err, last)
	case errors.Is(err, context.Canceled):
		e, b := tr.Position()
		where := fmt.Sprintf("after epoch %d", e)
		if b > 0 {
			where = fmt.Sprintf("after batch %d of %d of epoch %d", b, tr.Batches(), e+1)
		}
		return fmt.Errorf("interrupted: checkpoint %s written %s; continue with --resume --out %s: %w", o.out, where, o.out, err)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "done: %s\n", o.out)
	return nil
}

// checkResumeFlags refuses flags that contradict the checkpoint, and takes
// --workers when given.
func checkResumeFlags(o *options, st *train.State, topts *train.Options) error {
	conflict := func(name, have string) error {
		return cli.Usagef("--resume: --%s differs from the checkpoint's %s (a resumed run keeps its hyperparameters; start a new run with --init to change them)", name, have)
	}
	if o.set["data"] {
		if c, err := dataset.Canonical(o.data); err != nil || c != st.Dataset {
			return conflict("data", st.Dataset)
		}
	}
	if o.set["lr"] && o.lr != st.LR {
		return conflict("lr", fmt.Sprint(st.LR))
	}
	if o.set["batch"] && o.batch != st.BatchSize {
		return conflict("batch", fmt.Sprint(st.BatchSize))
	}
	if o.set["weight-decay"] && o.wd != st.WeightDecay {
		return conflict("weight-decay", fmt.Sprint(st.WeightDecay))
	}
	if o.set["passes"] && o.passes != st.Passes {
		return conflict("passes", fmt.Sprint(st.Passes))
	}
	if o.set["seed"] && o.seed != st.Seed {
		return conflict("seed", fmt.Sprint(st.Seed))
	}
	if o.set["convention"] && o.convention != st.Convention {
		return conflict("convention", st.Convention)
	}
	if o.set["unsupervised"] && (st.Mode == "unsupervised") != o.unsupervised {
		return conflict("unsupervised", st.Mode)
	}
	if o.set["objective"] && o.objective != st.Objective {
		return conflict("objective", st.Objective)
	}
	if o.set["schedule"] && o.schedule != st.Schedule {
		return conflict("schedule", st.Schedule)
	}
	if o.set["holdout"] && o.holdout != st.Holdout {
		return conflict("holdout", fmt.Sprint(st.Holdout))
	}
	if topts.Schedule == train.Cosine && o.set["epochs"] && o.epochs != st.Epochs {
		return conflict("epochs", fmt.Sprintf("%d (the cosine schedule's length)", st.Epochs))
	}
	if o.set["workers"] {
		topts.Workers = o.workers
	}
	return nil
}

func archString(m *lrrn.Model) string {
	s := make([]string, len(m.Sizes))
	for i, d := range m.Sizes {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "-")
}

// csvLog appends one line per epoch.
type csvLog struct{ f *os.File }

const csvHeader = "epoch,loss,test_loss,test_acc,rho,rho_estimate_not_sound,mean_margin,median_margin,median_delta,median_certified_radius,seconds,cert_0.5,cert_1.0,cert_1.58,obj_loss\n"

func openLog(path string, resume bool) (*csvLog, error) {
	if path == "" {
		return nil, nil
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		if _, err := f.WriteString(csvHeader); err != nil {
			f.Close()
			return nil, fmt.Errorf("--log: %w", err)
		}
	}
	return &csvLog{f}, nil
}

func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func (l *csvLog) write(r train.EpochRecord) error {
	_, err := fmt.Fprintf(l.f, "%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.1f,%s,%s,%s,%s\n", r.Epoch, num(r.Loss), num(r.TestLoss), num(r.Accuracy), num(r.Rho),
		num(r.RhoEstimate), num(r.MeanMargin), num(r.MedianMargin), num(r.MedianDelta), num(r.MedianRadius), r.Seconds,
		num(r.Cert05), num(r.Cert10), num(r.Cert158), num(r.ObjLoss))
	return err
}

func (l *csvLog) Close() error { return l.f.Close() }

// progress shows a live line on a terminal and one plain line per epoch
// otherwise.
type progress struct {
	w                io.Writer
	tty              bool
	batches, batch   int
	epochs           int
	start, lastDraw  time.Time
	epochStart       time.Time
	curEpoch, doneEx int
	evalName         string // "test" or "held-out"
}

func newProgress(w io.Writer, batches, batch, epochs int) *progress {
	p := &progress{w: w, batches: batches, batch: batch, epochs: epochs, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(pr train.Progress) {
	if pr.Epoch != p.curEpoch {
		p.curEpoch, p.epochStart, p.doneEx = pr.Epoch, time.Now(), 0
	}
	if !p.tty || time.Since(p.lastDraw) < 200*time.Millisecond {
		return
	}
	p.lastDraw = time.Now()
	el := time.Since(p.epochStart).Seconds()
	rate := float64(pr.Batch*p.batch) / el
	left := float64(p.batches-pr.Batch) * float64(p.batch) / rate
	all := left + float64(max(0, p.epochs-pr.Epoch)*p.batches*p.batch)/rate // training only, without evaluations
	fmt.Fprintf(p.w, "\r\x1b[Kepoch %d/%d  batch %d/%d  %.0f examples/s  loss %.5f  ETA epoch %s, run %s",
		pr.Epoch, p.epochs, pr.Batch, pr.Batches, rate, pr.RunningLoss,
		(time.Duration(left) * time.Second).Round(time.Second), (time.Duration(all) * time.Second).Round(time.Second))
}

func (p *progress) epochDone(r train.EpochRecord) {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	line := fmt.Sprintf("epoch %d/%d  loss %.5f", r.Epoch, p.epochs, r.Loss)
	if !math.IsNaN(r.Accuracy) {
		line += fmt.Sprintf("  %s acc %.2f%%  certified %.1f%% / %.1f%% / %.1f%% at 0.5 / 1 / 1.58  ρ %.4f (power-iteration estimate %.4f)  median m %.4f  median δ %.4f (certified %.4f)",
			p.evalName, 100*r.Accuracy, 100*r.Cert05, 100*r.Cert10, 100*r.Cert158, r.Rho, r.RhoEstimate, r.MedianMargin, r.MedianDelta, r.MedianRadius)
		if !math.IsNaN(r.ObjLoss) {
			line += fmt.Sprintf("  ℓ %.4f", r.ObjLoss)
		}
	} else {
		line += fmt.Sprintf("  test F %.5f  ρ %.4f", r.TestLoss, r.Rho)
	}
	line += fmt.Sprintf("  %.1fs", r.Seconds)
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
