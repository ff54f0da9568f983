package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/require"
)

// fixtureDir writes a small MNIST-format data set made of the repository's
// 500 real MNIST test images: 400 for training, 100 for testing.
func fixtureDir(t *testing.T) string {
	im, err := idx.ReadImages("../../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	lb, err := idx.ReadLabels("../../testdata/mnist-t500-labels-idx1-ubyte.gz")
	require.NoError(t, err)
	dir := t.TempDir()
	all := &idx.Labelled{Images: *im, Labels: lb}
	write := func(prefix string, lo, hi int) {
		sub := all.Slice(lo, hi)
		var b bytes.Buffer
		require.NoError(t, idx.WriteImages(&b, &sub.Images))
		require.NoError(t, os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), b.Bytes(), 0o644))
		b.Reset()
		require.NoError(t, idx.WriteLabels(&b, sub.Labels))
		require.NoError(t, os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), b.Bytes(), 0o644))
	}
	write("train", 0, 400)
	write("t10k", 400, 500)
	return dir
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTrainResumeAndOutputs(t *testing.T) {
	data := fixtureDir(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.lrrn")
	logf := filepath.Join(dir, "m.csv")
	plotf := filepath.Join(dir, "curves.png")
	filt := filepath.Join(dir, "filters.png")
	common := []string{"--data-dir", data, "--out", model, "--log", logf}
	code, out, errs := runCmd(append(common, "--arch", "784-16-16-10", "--epochs", "2", "--plot", plotf, "--filters", filt, "--lr", "0.1")...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "epoch 2/2")
	require.Contains(t, out, "acc ")
	require.Contains(t, out, "certified ")
	for _, f := range []string{plotf, filt} {
		fh, err := os.Open(f)
		require.NoError(t, err)
		_, err = png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
	}
	_, st, err := train.LoadCheckpoint(model)
	require.NoError(t, err)
	require.Equal(t, 2, st.Epoch)
	require.Equal(t, "mnist", st.Dataset)

	// Resume to 3 epochs: one more epoch, the log is appended to.
	code, out, errs = runCmd("--resume", "--data-dir", data, "--out", model, "--log", logf, "--epochs", "3")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "resuming")
	require.Contains(t, out, "epoch 3/3")
	b, err := os.ReadFile(logf)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4, "header and three epochs:\n%s", b)

	// A resumed run keeps its hyperparameters.
	code, _, errs = runCmd("--resume", "--data-dir", data, "--out", model, "--lr", "0.3")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--lr differs from the checkpoint")

	// A new run does not overwrite a checkpoint of another run.
	code, _, errs = runCmd(append(common, "--arch", "784-16-16-10", "--epochs", "1")...)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "use --resume")
}

func TestCommandErrors(t *testing.T) {
	data := fixtureDir(t)
	out := filepath.Join(t.TempDir(), "m.lrrn")
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no out":        {[]string{"--data-dir", data}, 2, "lrrn-train: --out MODEL is required (the model file written after every epoch); see -h\n"},
		"beta length":   {[]string{"--data-dir", data, "--out", out, "--beta", "1,1"}, 2, "--beta \"1,1\" has 2 values; --arch 784-64-64-10 has 3 weight layers"},
		"negative beta": {[]string{"--data-dir", data, "--out", out, "--beta", "1,-1,0"}, 2, "--beta \"1,-1,0\": β_1 = -1, want a finite value ≥ 0"},
		"arch vs data":  {[]string{"--data-dir", data, "--out", out, "--arch", "100-16-10"}, 1, "input layer has 100 units but mnist images have 784 pixels"},
		"bad arch":      {[]string{"--data-dir", data, "--out", out, "--arch", "784-x-10"}, 2, "not a positive layer size"},
		"arch too wide": {[]string{"--data-dir", data, "--out", out, "--arch", "784-65536-10"}, 2, `--arch "784-65536-10": lrrn: size of layer 1 is 65536, want 1 … 4096`},
		"bad act":       {[]string{"--data-dir", data, "--out", out, "--act", "tanh"}, 2, "lrrn-train: --act: unknown activation \"tanh\" (want linear, relu or hardsigmoid); see -h\n"},
		"gamma":         {[]string{"--data-dir", data, "--out", out, "--gamma", "2"}, 2, "lrrn-train: --gamma 2: want 0 < γ ≤ 1; see -h\n"},
		"bad float":     {[]string{"--data-dir", data, "--out", out, "--gamma", "x"}, 2, "lrrn-train: invalid value \"x\" for flag -gamma: parse error; see -h\n"},
		"unknown flag":  {[]string{"--out", out, "--epoch", "3"}, 2, "lrrn-train: flag provided but not defined: -epoch; see -h\n"},
		"lr":            {[]string{"--out", out, "--lr", "0"}, 2, "--lr 0: want a finite value > 0"},
		"weights":       {[]string{"--out", out, "--weights", "he"}, 2, "--weights \"he\": want glorot, orthogonal or paired"},
		"weights+init":  {[]string{"--out", out, "--init", out, "--weights", "orthogonal"}, 2, "--weights cannot be combined with --init"},
		"plot format":   {[]string{"--out", out, "--plot", "c.jpg"}, 2, "--plot c.jpg: want a .png or .svg file"},
		"batch":         {[]string{"--out", out, "--batch", "0"}, 2, "--batch 0: want at least 1"},
		"eval passes":   {[]string{"--out", out, "--eval-passes", "0"}, 2, `invalid value "0" for flag -eval-passes: want auto or a number of passes 1 … 65536`},
		"sweeps":        {[]string{"--out", out, "--sweeps", "65"}, 2, "--sweeps 65: want at most 64"},
		"eval passes x": {[]string{"--out", out, "--eval-passes", "often"}, 2, "want auto or a number of passes"},
		"init and arch": {[]string{"--out", out, "--init", out, "--arch", "784-10"}, 2, "--arch cannot be combined with --init"},
		"missing data":  {[]string{"--data", "kmnist", "--data-dir", filepath.Join(data, "absent"), "--out", out}, 1, "not found"},
		"unknown data":  {[]string{"--data", "cifar", "--out", out}, 2, "unknown data set"},
		"resume absent": {[]string{"--resume", "--data-dir", data, "--out", out}, 1, "--resume"},
		"resume arch":   {[]string{"--resume", "--out", out, "--arch", "784-10"}, 2, "--resume cannot be combined with --arch"},
		"convention":    {[]string{"--data-dir", data, "--out", out, "--convention", "median"}, 2, "--convention"},
		"objective":     {[]string{"--data-dir", data, "--out", out, "--objective", "nope"}, 2, "--objective"},
		"schedule":      {[]string{"--data-dir", data, "--out", out, "--schedule", "nope"}, 2, "--schedule"},
		"stray arg":     {[]string{"--out", out, "extra"}, 2, "unexpected argument"},
		"diverges":      {[]string{"--data-dir", data, "--out", out, "--arch", "784-8-8-10", "--lr", "1e9", "--epochs", "1"}, 1, "diverged in epoch 1"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errs := runCmd(tc.args...)
			require.Equal(t, tc.code, code, errs)
			require.Contains(t, errs, tc.want)
			if tc.code == 2 {
				require.Equal(t, 1, strings.Count(errs, "\n"), "a usage error is one line: %q", errs)
				require.NotContains(t, errs, "Usage:")
			}
		})
	}
	_, err := os.Stat(out)
	require.True(t, os.IsNotExist(err), "no model file may be written by a failed run")
	code, _, errs := runCmd("-h")
	require.Equal(t, 0, code)
	require.Contains(t, errs, "Usage:")
	require.Contains(t, errs, "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error (flags, arguments), 130 interrupted")
	lr := errs[strings.Index(errs, "-lr float"):]
	lr = lr[:strings.Index(lr, "\n  -")]
	require.Equal(t, 1, strings.Count(lr, "default"), "one default for --lr: %q", lr)
	require.Contains(t, lr, "(default 0.4)")
	require.NotContains(t, errs, "shared")
}

// TestCreatesOutputDirectories: a missing output directory is created
// before the first epoch (it used to fail after a whole epoch).
func TestCreatesOutputDirectories(t *testing.T) {
	data := fixtureDir(t)
	dir := filepath.Join(t.TempDir(), "new", "run")
	code, out, errs := runCmd("--data-dir", data, "--arch", "784-8-8-10", "--epochs", "1", "--lr", "0.1",
		"--out", filepath.Join(dir, "m.lrrn"), "--log", filepath.Join(dir, "logs", "m.csv"), "--plot", filepath.Join(dir, "plots", "c.png"))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	for _, f := range []string{"m.lrrn", "logs/m.csv", "plots/c.png"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
}

// TestDrivenRun: the symmetric driven estimator with the per-epoch
// evaluation at passes as needed trains, logs and plots (its J is near
// zero and may be negative: the chart shows the output loss ℓ).
func TestDrivenRun(t *testing.T) {
	data := fixtureDir(t)
	dir := t.TempDir()
	code, out, errs := runCmd("--data-dir", data, "--arch", "784-8-8-10", "--beta", "1,1,1", "--epochs", "1", "--lr", "1",
		"--objective", "ce,eps=0.5,temp=0.5,nudge=0.5,est=sym", "--eval-passes", "auto", "--sweeps", "2",
		"--out", filepath.Join(dir, "m.lrrn"), "--plot", filepath.Join(dir, "c.svg"))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "objective ce,eps=0.5,temp=0.5,nudge=0.5,est=sym")
	require.Contains(t, out, "20 passes of 2 sweeps")
	_, st, err := train.LoadCheckpoint(filepath.Join(dir, "m.lrrn"))
	require.NoError(t, err)
	require.Equal(t, 2, st.Sweeps, "the checkpoint keeps the sweeps for --resume")
	code, _, errs = runCmd("--resume", "--sweeps", "3", "--out", filepath.Join(dir, "m.lrrn"), "--epochs", "2")
	require.Equal(t, 2, code, errs)
	require.Contains(t, errs, "sweeps")
	require.Contains(t, out, "certified")
	svg, err := os.ReadFile(filepath.Join(dir, "c.svg"))
	require.NoError(t, err)
	require.Contains(t, string(svg), "output loss ℓ")
}

// TestInitialWeights: --weights orthogonal and --weights paired start from
// lrrn.NewOrthogonal and lrrn.NewPaired with the run's seed (a learning
// rate of 1e-30 and no weight decay leave every float32 weight where it
// started).
func TestInitialWeights(t *testing.T) {
	data := fixtureDir(t)
	for name, make := range map[string]func(lrrn.Config, uint64) (*lrrn.Model, error){
		"orthogonal": lrrn.NewOrthogonal, "paired": lrrn.NewPaired} {
		out := filepath.Join(t.TempDir(), "m.lrrn")
		code, stdout, errs := runCmd("--data-dir", data, "--arch", "784-8-8-10", "--beta", "1,1,1", "--epochs", "1", "--lr", "1e-30",
			"--weight-decay", "0", "--seed", "5", "--weights", name, "--out", out)
		require.Equal(t, 0, code, "%s: stdout:\n%s\nstderr:\n%s", name, stdout, errs)
		m, err := lrrn.Load(out)
		require.NoError(t, err)
		want, err := make(m.Config, 5)
		require.NoError(t, err)
		require.Equal(t, want.W, m.W, name)
		glorot, err := lrrn.NewRandom(m.Config, 5)
		require.NoError(t, err)
		require.NotEqual(t, glorot.W[0], m.W[0], name)
	}
	// paired needs even hidden layers: refused before any training
	out := filepath.Join(t.TempDir(), "m.lrrn")
	code, _, errs := runCmd("--data-dir", data, "--arch", "784-7-8-10", "--epochs", "1", "--weights", "paired", "--out", out)
	require.NotEqual(t, 0, code)
	require.Contains(t, errs, "layer 1 has 7")
	require.NoFileExists(t, out)
}

// TestPretrainThenFineTune: unsupervised pretraining of a network with a
// linear output and β_{L−1} = 0 leaves the output layer untouched (it gets
// no gradient), then supervised training starts from the saved model.
func TestPretrainThenFineTune(t *testing.T) {
	data := fixtureDir(t)
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre.lrrn")
	code, out, errs := runCmd("--unsupervised", "--data-dir", data, "--arch", "784-16-16-10", "--beta", "1,1,0", "--lr", "0.005", "--epochs", "2", "--out", pre)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "test F")
	pm, st, err := train.LoadCheckpoint(pre)
	require.NoError(t, err)
	require.Equal(t, "unsupervised", st.Mode)
	require.Equal(t, "linear", pm.Acts[2].String())
	init, err := lrrn.NewRandom(pm.Config, 1)
	require.NoError(t, err)
	require.NotEqual(t, init.W[0], pm.W[0], "pretraining changed W_0")
	// The output layer got no data gradient, only weight decay: W_2 =
	// c·W_2(init), up to one float32 rounding per step (80 steps: relative
	// error ≤ 80·2⁻²⁴ ≈ 5e-6 on each side).
	ratio := pm.W[2][0] / init.W[2][0]
	require.Less(t, ratio, float32(1))
	for i := range pm.W[2] {
		require.InEpsilon(t, ratio*init.W[2][i], pm.W[2][i], 1.2e-5)
	}

	fine := filepath.Join(dir, "fine.lrrn")
	code, out, errs = runCmd("--init", pre, "--data-dir", data, "--epochs", "1", "--lr", "0.1", "--out", fine)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "supervised training of 784-16-16-10")
	_, st, err = train.LoadCheckpoint(fine)
	require.NoError(t, err)
	require.Equal(t, "supervised", st.Mode)
	require.Equal(t, 1, st.Epoch)
	code, _, errs = runCmd("--init", pre, "--arch", "784-16-10", "--data-dir", data, "--out", filepath.Join(dir, "x.lrrn"))
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--arch cannot be combined with --init")
}
