// Command lrrn-experiments runs the paper's experiments (docs/math.md, "The
// paper's experiments") by name, each on its own and resumable, writing into
// results/<experiment>/: the model (model.bin), metrics.csv, curves.png,
// filters.png, the lrrn-verify --json output (verify.json.gz), summary.json,
// certified.png and commands.log (every
// command it ran, with the date). It drives the lrrn-train and lrrn-verify
// binaries (looked for beside this executable, then on PATH): build them
// together with
//
//	go build -o bin/ ./cmd/...
//
// Run it with -h for the subcommands.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
)

const usage = `lrrn-experiments runs the paper's experiments by name.

Usage:
  lrrn-experiments [flags] list                 the configurations
  lrrn-experiments [flags] commands NAME...     print the commands a run would execute
  lrrn-experiments [flags] run NAME...          train (or resume), then evaluate and verify
  lrrn-experiments [flags] evaluate NAME...     only summary.json and certified.png of a finished model
  lrrn-experiments [flags] verify NAME...       only lrrn-verify --json of a finished model
  lrrn-experiments [flags] status [NAME...]     epochs done per experiment
  lrrn-experiments sparsity MODEL...            first-layer filter sparsity of model files
  lrrn-experiments similarity MODEL_A MODEL_B   cosine similarity of the two models' first-layer filters
  lrrn-experiments [flags] tightness NAME...    attack vs certified radius on the first --attack-n test images
  lrrn-experiments [flags] lipschitz MODEL...   certified per-layer bounds and ρ beside the paper's estimates; with
                                                --lipschitz-n N also a lower bound of the Lipschitz constant
  lrrn-experiments [flags] tables               markdown tables (the paper vs ours) for results/README.md
  lrrn-experiments [flags] robust-plot          results/robust-certified.{png,svg}: certified accuracy against ε of the robust-* runs, with the published MNIST points
  lrrn-experiments [flags] setup-scaling [--widths W,...]
                                                results/setup-scaling/setup.{csv,png,svg}: CPU time and memory of verify.New
                                                against width (random 784-W-W-10 models, one process per width)

A run resumes an interrupted checkpoint (lrrn-train --resume) and skips
stages whose checkpoint has all its epochs; run it again after a crash or
Ctrl-C. Every executed command is appended, with the date, to
results/NAME/commands.log.

` + cli.ExitHelp + `
Flags:
`

type runner struct {
	results, bin, dataDir string
	workers, attackN      int
	lipschitzN            int
	lipschitzData         string
	stdout, stderr        io.Writer
	dry                   bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("lrrn-experiments", usage, stderr)
	r := &runner{stdout: stdout, stderr: stderr}
	fs.StringVar(&r.results, "results", "results", "directory of the per-experiment result directories")
	fs.StringVar(&r.bin, "bin", "", "directory holding lrrn-train and lrrn-verify (default: beside this executable, else PATH)")
	fs.StringVar(&r.dataDir, "kmnist-dir", "", "directory of the KMNIST files, passed to lrrn-train and lrrn-verify as --data-dir (default: the data cache, or a download)")
	fs.IntVar(&r.attackN, "attack-n", 500, "tightness: attack the first N test images")
	fs.IntVar(&r.lipschitzN, "lipschitz-n", 0, "lipschitz: also bound the exact model's Lipschitz constant from below at the first N test images of --lipschitz-data (0: no)")
	fs.StringVar(&r.lipschitzData, "lipschitz-data", "mnist", "lipschitz: the data set whose test images --lipschitz-n uses: mnist, fashion-mnist or kmnist")
	fs.IntVar(&r.workers, "workers", 1, "lrrn-train --workers (2 cores: one per concurrent run)")
	err := cli.Parse(fs, args, stderr)
	if err == nil && fs.NArg() == 0 {
		err = cli.Usagef("name a subcommand: list, commands, run, evaluate, verify, status, sparsity, similarity, tightness, lipschitz, tables, robust-plot, setup-scaling")
	}
	if err == nil {
		err = r.dispatch(ctx, fs.Arg(0), fs.Args()[1:])
	}
	return cli.Status("lrrn-experiments", err, stderr)
}

func (r *runner) dispatch(ctx context.Context, cmd string, args []string) error {
	ex := experiments()
	pick := func() ([]experiment, error) {
		if len(args) == 0 {
			return nil, cli.Usagef("%s: name at least one experiment (see list)", cmd)
		}
		var out []experiment
		for _, a := range args {
			e, ok := ex[a]
			if !ok {
				return nil, cli.Usagef("unknown experiment %q; the configurations are: %s", a, strings.Join(names(ex), ", "))
			}
			out = append(out, e)
		}
		return out, nil
	}
	switch cmd {
	case "list":
		for _, n := range names(ex) {
			fmt.Fprintf(r.stdout, "%-32s %s\n%-32s the paper: %s\n", n, ex[n].what, "", ex[n].paper)
		}
		return nil
	case "commands", "run", "verify":
		es, err := pick()
		if err != nil {
			return err
		}
		r.dry = cmd == "commands"
		for _, e := range es {
			if cmd != "verify" {
				if err := r.train(ctx, e); err != nil {
					return fmt.Errorf("%s: %w", e.name, err)
				}
			}
			if e.verify && cmd != "verify" {
				if r.dry {
					fmt.Fprintf(r.stdout, "(runner) evaluate %s → %s, %s\n", e.name,
						filepath.Join(r.dir(e), "summary.json"), filepath.Join(r.dir(e), "certified.png"))
				} else if _, err := r.evaluate(ctx, e); err != nil {
					return fmt.Errorf("%s: %w", e.name, err)
				}
			}
			if e.verify {
				if err := r.verify(ctx, e); err != nil {
					return fmt.Errorf("%s: %w", e.name, err)
				}
			}
		}
		return nil
	case "evaluate":
		es, err := pick()
		if err != nil {
			return err
		}
		for _, e := range es {
			sum, err := r.evaluate(ctx, e)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			fmt.Fprintf(r.stdout, "%s: acc %.2f%%  ρ %.4f  m mean %.4f median %.4f std %.4f  median δ %.3f  median radius %.3f  pair %.3f  cert acc ε=0.5 %.1f%% (pair %.1f%%) ε=1 %.1f%% (pair %.1f%%)\n",
				e.name, 100*sum.Accuracy, sum.Rho, sum.MeanMargin, sum.MedianMargin, sum.StdMargin, sum.MedianDelta, sum.MedianRadius,
				sum.MedianPairRadius, 100*sum.CertAcc["0.5"], 100*sum.CertAccPair["0.5"], 100*sum.CertAcc["1.0"], 100*sum.CertAccPair["1.0"])
		}
		return nil
	case "status":
		if len(args) == 0 {
			args = names(ex)
		}
		es, err := pick()
		if err != nil {
			return err
		}
		for _, e := range es {
			fmt.Fprintf(r.stdout, "%-32s %s\n", e.name, r.status(e))
		}
		return nil
	case "sparsity":
		return sparsityCmd(r.stdout, args)
	case "tightness":
		es, err := pick()
		if err != nil {
			return err
		}
		for _, e := range es {
			t, err := r.tightness(ctx, e, r.attackN)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			pair := "no δ_pair (output not reduced)"
			if t.RatioPair != nil {
				pair = fmt.Sprintf("found ÷ δ_pair: min %.3f, median %.3f; median δ_pair %.3f", t.RatioPair.Min, t.RatioPair.Median, *t.MedianPair)
			}
			fmt.Fprintf(r.stdout, "%s: %d of the first %d test images attacked; found ÷ δ: min %.3f, median %.3f, quartiles %.3f–%.3f; %s; median found %.3f (best found by %v), median δ %.3f\n",
				e.name, t.Attacked, t.Images, t.RatioRadius.Min, t.RatioRadius.Median, t.RatioRadius.Q25, t.RatioRadius.Q75,
				pair, t.MedianFound, t.Methods, t.MedianRadius)
		}
		return nil
	case "lipschitz":
		return r.lipschitzCmd(ctx, args)
	case "tables":
		return r.tables(r.stdout)
	case "robust-plot":
		return r.robustPlot()
	case "setup-scaling":
		return r.setupScaling(ctx, args)
	case "setup-width": // hidden: setup-scaling's child process
		return r.setupWidth(args)
	case "similarity":
		return similarityCmd(r.stdout, args)
	}
	return cli.Usagef("unknown subcommand %q (list, commands, run, evaluate, verify, status, sparsity, similarity, tightness, lipschitz, tables, robust-plot, setup-scaling)", cmd)
}

// dataDirOf returns the directory of a data set's files: --kmnist-dir for
// KMNIST, "" (the data cache, or a download) for the others.
func (r *runner) dataDirOf(name string) string {
	if name == "kmnist" {
		return r.dataDir
	}
	return ""
}

func (r *runner) dir(e experiment) string { return filepath.Join(r.results, e.name) }

func (r *runner) file(e experiment, s stage, name string) string {
	return filepath.Join(r.dir(e), s.prefix+name)
}

// progress reports how many of a stage's epochs its checkpoint holds:
// (done, true) for a checkpoint, (0, false) when there is none.
func progress(path string) (int, bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	_, st, err := train.LoadCheckpoint(path)
	if err != nil {
		return 0, false, err
	}
	return st.Epoch, true, nil
}

func (r *runner) status(e experiment) string {
	var parts []string
	for _, s := range e.stages {
		done, ok, err := progress(r.file(e, s, "model.bin"))
		label := strings.TrimSuffix(s.prefix, "-")
		if label == "" {
			label = "train"
		}
		switch {
		case err != nil:
			parts = append(parts, fmt.Sprintf("%s: %v", label, err))
		case !ok:
			parts = append(parts, label+": not started")
		default:
			parts = append(parts, fmt.Sprintf("%s: %d/%d epochs", label, done, s.epochs))
		}
	}
	if e.verify {
		if _, err := os.Stat(filepath.Join(r.dir(e), "verify.json.gz")); err == nil {
			parts = append(parts, "verify.json.gz written")
		}
	}
	return strings.Join(parts, "; ")
}

// trainArgs returns lrrn-train's arguments for stage s, resuming when a
// checkpoint exists.
func (r *runner) trainArgs(e experiment, s stage, resume bool) []string {
	a := []string{}
	if resume {
		a = append(a, "--resume")
	} else {
		if s.unsupervised {
			a = append(a, "--unsupervised")
		}
		a = append(a, "--data", s.data)
		switch {
		case s.initRandom:
			a = append(a, "--init", r.file(e, s, "init.bin"))
		case s.initFrom != "":
			a = append(a, "--init", filepath.Join(r.dir(e), s.initFrom+"model.bin"))
		default:
			a = append(a, "--arch", s.arch, "--act", s.act, "--beta", s.beta, "--gamma", fmtF(gamma))
		}
		a = append(a, "--lr", fmtF(s.lr), "--batch", strconv.Itoa(s.batchSize()), "--weight-decay", fmtF(s.wd),
			"--passes", strconv.Itoa(passes), "--seed", strconv.FormatUint(s.seed, 10))
		if !s.unsupervised {
			a = append(a, "--convention", s.convention)
		}
		if s.objective != "" {
			a = append(a, "--objective", s.objective)
		}
		if s.schedule != "" {
			a = append(a, "--schedule", s.schedule)
		}
		if s.weights != "" {
			a = append(a, "--weights", s.weights)
		}
		if s.sweeps > 1 {
			a = append(a, "--sweeps", strconv.Itoa(s.sweeps))
		}
	}
	if s.evalPasses != "" {
		a = append(a, "--eval-passes", s.evalPasses)
	}
	if dir := r.dataDirOf(s.data); dir != "" {
		a = append(a, "--data-dir", dir)
	}
	a = append(a, "--epochs", strconv.Itoa(s.epochs), "--workers", strconv.Itoa(r.workers),
		"--out", r.file(e, s, "model.bin"), "--log", r.file(e, s, "metrics.csv"),
		"--plot", r.file(e, s, "curves.png"), "--filters", r.file(e, s, "filters.png"))
	return a
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func (r *runner) train(ctx context.Context, e experiment) error {
	if !r.dry {
		if err := mkdir(r.dir(e)); err != nil {
			return err
		}
	}
	for _, s := range e.stages {
		out := r.file(e, s, "model.bin")
		done, ok, err := progress(out)
		if err != nil {
			return fmt.Errorf("%s exists but is not a checkpoint of this runner (%v); move it away to start over", out, err)
		}
		if ok && done >= s.epochs {
			fmt.Fprintf(r.stdout, "%s: %s has %d/%d epochs, skipping\n", e.name, out, done, s.epochs)
			continue
		}
		if !ok && s.initRandom {
			if err := r.initModel(e, s); err != nil {
				return err
			}
		}
		if err := r.exec(ctx, e, "lrrn-train", r.trainArgs(e, s, ok)); err != nil {
			return err
		}
	}
	return nil
}

// initModel writes the random 784-64-64-10 model a pretraining stage starts
// from: relu hidden layers and a linear output with β = [1,1,0], exactly
// the model lrrn-train builds for supervised training with the same seed
// (lrrn.NewRandom). lrrn-train --unsupervised would make every layer,
// the output included, use --act; with a linear output and β_{L−1} = 0 the
// output layer receives no unsupervised gradient and sends no feedback
// (docs/math.md, "Pretraining then fine-tuning").
func (r *runner) initModel(e experiment, s stage) error {
	path := r.file(e, s, "init.bin")
	sizes, err := parseSizes(s.arch)
	if err != nil {
		return err
	}
	beta, err := parseFloats(s.beta)
	if err != nil {
		return err
	}
	act, err := lrrn.ParseActivation(s.act)
	if err != nil {
		return err
	}
	L := len(sizes) - 1
	acts := make([]lrrn.Activation, L)
	for k := range acts {
		acts[k] = act
	}
	acts[L-1] = lrrn.Linear
	cmd := fmt.Sprintf("(runner) lrrn.NewRandom(sizes %s, acts %v, β %s, γ %g, passes %d, seed %d) → %s", s.arch, acts, s.beta, gamma, passes, s.seed, path)
	if r.dry {
		fmt.Fprintln(r.stdout, cmd)
		return nil
	}
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: sizes, Acts: acts, Beta: beta, Gamma: gamma, Passes: passes}, s.seed)
	if err != nil {
		return err
	}
	m.Meta.Note = "random initialisation of " + e.name + " (lrrn-experiments)"
	if err := m.Save(path); err != nil {
		return err
	}
	return r.logCmd(e, cmd)
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, "-") {
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad layer size %q in %q", p, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in %q", p, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// verifyEps are the radii of lrrn-verify's certified accuracy.
const verifyEps = "0.1,0.25,0.5,1.0,1.5,1.58,2.0"

// verifyArgs returns lrrn-verify's arguments for the final model of e: the
// full test set with its labels (--data), JSON output.
func (r *runner) verifyArgs(e experiment) ([]string, error) {
	s := e.stages[len(e.stages)-1]
	a := []string{"--json", "--data", s.data}
	if dir := r.dataDirOf(s.data); dir != "" {
		a = append(a, "--data-dir", dir)
	}
	return append(a, "--eps", verifyEps, "--workers", strconv.Itoa(r.workers), r.file(e, s, "model.bin")), nil
}

// verify writes lrrn-verify's JSON report (model, one record per test
// image, summary) gzip-compressed to verify.json.gz.
func (r *runner) verify(ctx context.Context, e experiment) error {
	s := e.stages[len(e.stages)-1]
	out := filepath.Join(r.dir(e), "verify.json.gz")
	if !r.dry {
		done, ok, err := progress(r.file(e, s, "model.bin"))
		if err != nil {
			return err
		}
		if !ok || done < s.epochs {
			return fmt.Errorf("verify: the model has %d/%d epochs; finish the run first", done, s.epochs)
		}
	}
	args, err := r.verifyArgs(e)
	if err != nil {
		return err
	}
	if err := r.execTo(ctx, e, "lrrn-verify", args, out); err != nil || r.dry {
		return err
	}
	return writeVerifySummary(out, filepath.Join(r.dir(e), "verify-summary.json"))
}

// writeVerifySummary copies lrrn-verify's JSON report without the
// per-image records (the "model" and "summary" parts) to a small file.
func writeVerifySummary(gzPath, out string) error {
	f, err := os.Open(gzPath)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", gzPath, err)
	}
	var rep map[string]json.RawMessage
	if err := json.NewDecoder(zr).Decode(&rep); err != nil {
		return fmt.Errorf("%s: %w", gzPath, err)
	}
	delete(rep, "inputs")
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

func (r *runner) binary(name string) (string, error) {
	if r.bin != "" {
		return filepath.Join(r.bin, name), nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found beside lrrn-experiments or on PATH: build it with `go build -o DIR/ ./cmd/...` and pass --bin DIR", name)
	}
	return p, nil
}

func (r *runner) exec(ctx context.Context, e experiment, name string, args []string) error {
	return r.execTo(ctx, e, name, args, "")
}

// execTo runs a binary with args, its standard output going to outFile
// (written atomically on success) or to the runner's own.
func (r *runner) execTo(ctx context.Context, e experiment, name string, args []string, outFile string) error {
	line := name + " " + strings.Join(args, " ")
	logged := name + " " + strings.Join(r.portableArgs(args), " ")
	if outFile != "" {
		line += " > " + outFile
		logged += " > " + outFile
	}
	if r.dry {
		fmt.Fprintln(r.stdout, line)
		return nil
	}
	bin, err := r.binary(name)
	if err != nil {
		return err
	}
	if err := r.logCmd(e, logged); err != nil {
		return err
	}
	fmt.Fprintln(r.stdout, "+", line)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // lrrn-train checkpoints on SIGTERM
	cmd.WaitDelay = time.Minute
	cmd.Stderr = r.stderr
	var (
		f  *os.File
		zw *gzip.Writer
	)
	if outFile != "" {
		if f, err = os.CreateTemp(filepath.Dir(outFile), ".out-*"); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		cmd.Stdout = f
		if strings.HasSuffix(outFile, ".gz") {
			zw = gzip.NewWriter(f)
			cmd.Stdout = zw
		}
	} else {
		cmd.Stdout = r.stdout
	}
	if err := cmd.Run(); err != nil {
		if f != nil {
			f.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", line, err)
	}
	if f != nil {
		if zw != nil {
			if err := zw.Close(); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Chmod(f.Name(), 0o644); err != nil {
			return err
		}
		return os.Rename(f.Name(), outFile)
	}
	return nil
}

// portableArgs returns args for commands.log, which is committed with the
// results: the --kmnist-dir given (an argument equal to it, or a path
// inside it) is written as $KMNIST_DIR, since a directory of the machine
// that ran the command means nothing elsewhere.
func (r *runner) portableArgs(args []string) []string {
	if r.dataDir == "" {
		return args
	}
	dir := filepath.Clean(r.dataDir)
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case a == r.dataDir || a == dir:
			a = "$KMNIST_DIR"
		case strings.HasPrefix(a, dir+string(filepath.Separator)):
			a = "$KMNIST_DIR" + a[len(dir):]
		}
		out[i] = a
	}
	return out
}

// logCmd appends a command line, with its date, to the experiment's
// commands.log.
func (r *runner) logCmd(e experiment, line string) error {
	f, err := os.OpenFile(filepath.Join(r.dir(e), "commands.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s  %s\n", time.Now().UTC().Format(time.RFC3339), line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func mkdir(d string) error { return os.MkdirAll(d, 0o755) }
