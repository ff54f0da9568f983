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

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/cli"
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
	objective, schedule, weights                                                          string
	gamma, lr, wd                                                                         float64
	passes, epochs, batch, workers, evalPasses, holdout, sweeps                           int
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
	fs := cli.NewFlagSet("lrrn-train", usage, stderr)
	fs.StringVar(&o.data, "data", "mnist", "data set: mnist, fashion (Fashion-MNIST) or kmnist (Kuzushiji-MNIST)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (default: the data cache, then the places and downloads listed above)")
	fs.StringVar(&o.arch, "arch", "", "layer sizes, input first (default 784-64-64-10; unsupervised 784-32-32)")
	fs.StringVar(&o.act, "act", "relu", "activation of the hidden layers: linear, relu or hardsigmoid (the output is linear when supervised)")
	fs.StringVar(&o.outAct, "out-act", "", "activation of the last layer (default: linear when supervised or when its β is 0, else --act)")
	fs.StringVar(&o.beta, "beta", "", "reconstruction prefactors β, one per weight layer (default 1,…,1,0; unsupervised 1,…,1)")
	fs.Float64Var(&o.gamma, "gamma", 0.125, "feedback parameter γ in (0,1]")
	fs.IntVar(&o.passes, "passes", 20, "BCD passes per phase")
	fs.IntVar(&o.sweeps, "sweeps", 1, fmt.Sprintf("Gauss–Seidel sweeps over each layer's units per BCD pass, 1 … %d: more reach the equilibrium in fewer passes when the weights are large (docs/math.md, \"Inner sweeps\")", lrrn.MaxSweeps))
	fs.IntVar(&o.epochs, "epochs", 100, "train until this many epochs are complete")
	fs.IntVar(&o.batch, "batch", 10, "mini-batch size")
	fs.Float64Var(&o.lr, "lr", 0.4, "learning rate η; 0.005 with --unsupervised (the paper: 0.4 MNIST/KMNIST, 0.1 Fashion-MNIST, 0.005 unsupervised)")
	fs.Float64Var(&o.wd, "weight-decay", 1e-5, "weight decay λ on the weights (not the biases)")
	fs.StringVar(&o.convention, "convention", train.DefaultConvention.String(), "gradient convention (docs/training.md): mean|sum[,gamma][,decay=S]")
	fs.BoolVar(&o.unsupervised, "unsupervised", false, "train the free energy instead of the contrastive loss")
	fs.StringVar(&o.init, "init", "", "start from this model file instead of a random initialisation")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation and the shuffling")
	fs.StringVar(&o.weights, "weights", "glorot", "random initial weights (without --init): glorot (Glorot-uniform), orthogonal (every singular value 1) or paired (hidden units in pairs of opposite weights, every nonzero singular value 1; docs/training.md)")
	fs.StringVar(&o.out, "out", "", "model file written after every epoch (required)")
	fs.StringVar(&o.log, "log", "", "CSV file of per-epoch metrics (appended to on --resume)")
	fs.StringVar(&o.plotPath, "plot", "", "chart of the loss and test-accuracy curves, redrawn after every epoch: PNG or SVG by the file's extension")
	fs.StringVar(&o.filters, "filters", "", "PNG grid of the first-layer filters, redrawn after every epoch")
	fs.BoolVar(&o.resume, "resume", false, "continue the checkpoint in --out exactly (its hyperparameters are used)")
	fs.BoolVar(&o.force, "force", false, "let --out replace an existing file that is not a model")
	fs.IntVar(&o.workers, "workers", 0, "goroutines (0: min(2, cores)); results are reproducible for a given seed and worker count")
	fs.Func("eval-passes", "BCD passes of the per-epoch evaluation: N, or auto for passes as needed per input, as lrrn-verify's default (the certificates of the converged model); default --passes", func(v string) error {
		if v == "auto" {
			o.evalPasses = train.EvalAsNeeded
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<16 {
			return fmt.Errorf("want auto or a number of passes 1 … 65536")
		}
		o.evalPasses = n
		return nil
	})
	fs.StringVar(&o.objective, "objective", "onehot", "supervised output objective (docs/training.md): onehot[,scale=C] clamps the output to C·onehot; margin,eps=E[,nudge=A][,warmup=N][,est=X] and ce,eps=E[,temp=T][,nudge=A][,warmup=N][,est=X] nudge it toward the margins a certificate at radius E needs (hinge or cross-entropy); est=clamp (default) clamps the nudged output, est=drive and est=sym drive the free output by the linearised loss (one-sided, or ±A averaged: the O(A) error cancels)")
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
	}{{"epochs", o.epochs, 1}, {"batch", o.batch, 1}, {"passes", o.passes, 1}, {"sweeps", o.sweeps, 1}, {"workers", o.workers, 0}, {"holdout", o.holdout, 0}} {
		if c.v < c.min {
			return fmt.Errorf("--%s %d: want at least %d", c.name, c.v, c.min)
		}
	}
	if o.sweeps > lrrn.MaxSweeps {
		return fmt.Errorf("--sweeps %d: want at most %d", o.sweeps, lrrn.MaxSweeps)
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
		for _, f := range []string{"arch", "act", "out-act", "beta", "gamma", "init", "weights"} {
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
	if o.weights != "glorot" && o.weights != "orthogonal" && o.weights != "paired" {
		return fmt.Errorf("--weights %q: want glorot, orthogonal or paired", o.weights)
	}
	if o.init != "" {
		for _, f := range []string{"arch", "act", "out-act", "beta", "gamma", "weights"} {
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
	m, st, topts, err := startModel(o, stderr)
	if err != nil {
		return err
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
	trainSet, evalSet, evalName, err := trainingData(o, m, topts.Mode, stderr)
	if err != nil {
		return err
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
	} else if err := checkOverwrite(o); err != nil {
		return err
	}
	logw, err := openLog(o.log, o.resume)
	if err != nil {
		return err
	}
	topts = tr.Options()
	ep := &epochOutput{o: o, m: m, unsupervised: topts.Mode == train.Unsupervised, log: logw, hist: hist, stderr: stderr}
	if logw != nil {
		defer func() {
			if cerr := logw.Close(); cerr != nil && ep.logErr == nil && err == nil {
				err = fmt.Errorf("--log: %w", cerr)
			}
		}()
	}
	sweeps := ""
	if topts.Sweeps > 1 {
		sweeps = fmt.Sprintf(" of %d sweeps", topts.Sweeps)
	}
	fmt.Fprintf(stdout, "%s training of %s on %s: %d examples, batch %d, lr %g (%s), weight decay %g, %d passes%s, convention %s, objective %s, workers %d; evaluation on the %s set\n",
		topts.Mode, archString(m), o.data, trainSet.N, topts.Batch, topts.LR, topts.Schedule, topts.WeightDecay, topts.Passes, sweeps, topts.Convention, topts.Objective, topts.Workers, evalName)
	ep.prog = newProgress(stdout, tr.Batches(), topts.Batch, o.epochs)
	ep.prog.evalName = "test"
	if o.holdout != 0 {
		ep.prog.evalName = "held-out"
	}
	rc := train.RunConfig{Epochs: o.epochs, Checkpoint: o.out, Dataset: o.data, Test: evalSet, EvalPasses: o.evalPasses,
		History: hist, Progress: ep.prog.update, Holdout: o.holdout, OnEpoch: ep.done}
	_, err = train.Run(ctx, tr, rc)
	ep.prog.finish()
	if err != nil {
		return runError(err, o, tr)
	}
	fmt.Fprintf(stdout, "done: %s\n", o.out)
	return nil
}

// startModel removes the temporary files of checkpoints a killed run was
// writing (this run owns --out) and returns the model to train with its
// training options: the checkpoint's with --resume (and its state),
// otherwise a model from --init or a random one with the flags' options.
func startModel(o *options, stderr io.Writer) (m *lrrn.Model, st *train.State, topts train.Options, err error) {
	removed, err := lrrn.RemoveStaleTemps(o.out)
	for _, name := range removed {
		fmt.Fprintf(stderr, "lrrn-train: removed %s, the temporary file of an interrupted checkpoint\n", name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, topts, fmt.Errorf("--out: removing stale temporary files: %w", err)
	}
	if o.resume {
		m, st, err = train.LoadCheckpoint(o.out)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, topts, fmt.Errorf("--resume: no checkpoint %s to continue (start the run without --resume)", o.out)
		}
		if err != nil {
			return nil, nil, topts, fmt.Errorf("--resume: %w", err)
		}
		if topts, err = st.Options(); err != nil {
			return nil, nil, topts, fmt.Errorf("--resume: %s: %w", o.out, err)
		}
		if err := checkResumeFlags(o, st, &topts); err != nil {
			return nil, nil, topts, err
		}
		o.data = st.Dataset
		o.unsupervised = topts.Mode == train.Unsupervised
		o.holdout = st.Holdout
		return m, st, topts, nil
	}
	mode := train.Supervised
	if o.unsupervised {
		mode = train.Unsupervised
	}
	topts = train.Options{Mode: mode, LR: o.lr, Batch: o.batch, WeightDecay: o.wd, Passes: o.passes, Sweeps: o.sweeps, Seed: o.seed, Workers: o.workers, Convention: o.conv,
		Objective: o.obj, Schedule: o.sch}
	if o.sch == train.Cosine {
		topts.Epochs = o.epochs
	}
	if o.init != "" {
		if m, err = lrrn.Load(o.init); err != nil {
			return nil, nil, topts, fmt.Errorf("--init: %w", err)
		}
		m.Meta.Note = "" // a checkpoint note of the pretraining run does not apply
	} else if o.weights == "orthogonal" {
		if m, err = lrrn.NewOrthogonal(o.cfg, o.seed); err != nil {
			return nil, nil, topts, err
		}
	} else if o.weights == "paired" {
		if m, err = lrrn.NewPaired(o.cfg, o.seed); err != nil {
			return nil, nil, topts, err
		}
	} else if m, err = lrrn.NewRandom(o.cfg, o.seed); err != nil {
		return nil, nil, topts, err
	}
	return m, nil, topts, nil
}

// trainingData loads o.data (setting it to the set's canonical name) and
// returns the training images and those evaluated after every epoch —
// the test set, or with --holdout the last training images, held out —
// checked against the model.
func trainingData(o *options, m *lrrn.Model, mode train.Mode, stderr io.Writer) (trainSet, evalSet *idx.Labelled, evalName string, err error) {
	if cli.IsTerminal(stderr) {
		dataset.Default.Progress = stderr
	}
	trainSet, testSet, canon, err := loadData(o.data, o.dataDir)
	if err != nil {
		return nil, nil, "", err
	}
	o.data = canon
	evalSet, evalName = testSet, "test"
	if o.holdout != 0 {
		if o.holdout < 0 || o.holdout >= trainSet.N {
			return nil, nil, "", fmt.Errorf("--holdout %d: want 0 … %d (the training set has %d images)", o.holdout, trainSet.N-1, trainSet.N)
		}
		n := trainSet.N - o.holdout
		trainSet, evalSet = trainSet.Slice(0, n), trainSet.Slice(n, trainSet.N)
		evalName = fmt.Sprintf("held-out (last %d training images)", o.holdout)
	}
	if d := trainSet.Dim(); d != m.Sizes[0] {
		return nil, nil, "", fmt.Errorf("the model's input layer has %d units but %s images have %d pixels (use --arch %d-…)", m.Sizes[0], o.data, d, d)
	}
	if mode == train.Supervised {
		if L := m.L(); m.Sizes[L] < 10 {
			return nil, nil, "", fmt.Errorf("supervised training on %s needs ≥ 10 output units, the model has %d (use e.g. --arch 784-64-64-10)", o.data, m.Sizes[L])
		}
	}
	return trainSet, evalSet, evalName, nil
}

// checkOverwrite refuses to start a new run over a checkpoint, or over a
// file that is not a model, without --force.
func checkOverwrite(o *options) error {
	if _, err := os.Stat(o.out); err != nil {
		return nil
	}
	_, _, cerr := train.LoadCheckpoint(o.out)
	if cerr == nil {
		return fmt.Errorf("%s is a checkpoint of another run: use --resume to continue it, or another --out", o.out)
	}
	if !errors.Is(cerr, train.ErrNoState) && !o.force {
		return fmt.Errorf("--out %s exists and is not a model or checkpoint lrrn-train may replace (%v); refusing to overwrite it (--force replaces it)", o.out, cerr)
	}
	return nil
}

// runError explains how a run that train.Run ended with err stopped and
// what was kept.
func runError(err error, o *options, tr *train.Trainer) error {
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
	}
	return err
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
	if o.set["sweeps"] && o.sweeps != max(1, st.Sweeps) {
		return conflict("sweeps", fmt.Sprint(max(1, st.Sweeps)))
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
